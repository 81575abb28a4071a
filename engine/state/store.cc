#include "state/store.h"

namespace otaroll::state {

Transaction::Transaction(Transaction&& other) noexcept : store_(other.store_) {
  other.store_ = nullptr;
}

Transaction::~Transaction() {
  if (store_ != nullptr) store_->RollbackTransaction();
}

core::Status Transaction::Commit() {
  if (store_ == nullptr) {
    return core::Status::Invalid("a state transaction was committed twice; this is a bug in otaroll");
  }
  Store* store = store_;
  store_ = nullptr;  // a failed commit is rolled back by the store
  return store->CommitTransaction();
}

core::Result<Transaction> Store::Begin(Durability durability) {
  if (auto s = BeginTransaction(durability); !s.ok()) return s;
  return Transaction(this);
}

}  // namespace otaroll::state
