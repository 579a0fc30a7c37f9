#pragma once
// Text from event data (customer ids, event names, values, subjects) on its way to a terminal.
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace trig::cli {

// What explain and run print of event data goes to a terminal, where a control character would act
// instead of showing: ESC, BEL, a line break, DEL, or a C1 control such as U+009B (which terminals
// take as ESC [). Each is shown as an escape: a byte as backslash-x and two hex digits, a C1
// control as backslash-u and four.
std::string printable(std::string_view s);

// A stream that writes `printable` text to another, line breaks kept: the replay's warnings
// about event lines quote them.
class PrintableBuf final : public std::streambuf {
 public:
  explicit PrintableBuf(std::ostream& out) : out_(out) {}
  ~PrintableBuf() override {
    if (lead_) out_.put('\xc2');
  }

 protected:
  int overflow(int ch) override {
    if (ch == traits_type::eof()) return 0;
    auto c = static_cast<unsigned char>(ch);
    if (lead_) {  // a C1 control is two bytes: 0xc2, then 0x80..0x9f
      lead_ = false;
      if (c >= 0x80 && c <= 0x9f) {
        out_ << printable(std::string{'\xc2', static_cast<char>(c)});
        return ch;
      }
      out_.put('\xc2');
    }
    if (c == 0xc2)
      lead_ = true;
    else if (c == '\n')
      out_.put('\n');
    else
      out_ << printable(std::string(1, static_cast<char>(c)));
    return ch;
  }
  int sync() override { return out_.flush() ? 0 : -1; }

 private:
  std::ostream& out_;
  bool lead_ = false;
};

}  // namespace trig::cli
