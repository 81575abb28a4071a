// Untrusted text shown on a terminal or in a log line: escaped, one line.
#include "core/escape.h"

#include <gtest/gtest.h>

namespace otaroll::core {
namespace {

TEST(Printable, LeavesPrintableTextAlone) {
  EXPECT_EQ(Printable("thermostat-2-4-0 Grüße 温度"), "thermostat-2-4-0 Grüße 温度");
  EXPECT_TRUE(IsPrintable("a b\\c"));
}

TEST(Printable, EscapesControlsBidiAndInvalidUtf8) {
  EXPECT_EQ(Printable("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(Printable("one\ntwo\tthree\r"), "one\\ntwo\\tthree\\r");
  EXPECT_EQ(Printable(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(Printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(Printable("c1\xc2\x9b"), "c1\\u{009B}");  // CSI as a C1 control
  EXPECT_EQ(Printable("rtl\xe2\x80\xae"
                      "evil"),
            "rtl\\u{202E}evil");                              // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(Printable("iso\xe2\x81\xa6x"), "iso\\u{2066}x");  // LEFT-TO-RIGHT ISOLATE
  EXPECT_EQ(Printable("bad\xff\xc3"), "bad\\xff\\xc3");
  EXPECT_EQ(Printable("over\xc0\xaf"), "over\\xc0\\xaf");  // an overlong '/'
  EXPECT_FALSE(IsPrintable("a\x1b"));
}

TEST(Excerpt, IsShortQuotedAndOnOneLine) {
  EXPECT_EQ(Excerpt("Hvac"), "\"Hvac\"");
  EXPECT_EQ(Excerpt("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"),
            "\"root:x:0:0:root:/root:/bin/bash\\ndaemon:x…\" (80 characters)");
  EXPECT_EQ(Excerpt(std::string(10000, 'a'), 3), "\"aaa…\" (10000 characters)");
  EXPECT_EQ(Excerpt("温度温度", 2), "\"温度…\" (4 characters)");
}

}  // namespace
}  // namespace otaroll::core
