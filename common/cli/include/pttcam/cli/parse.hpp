#pragma once
// The command line of every pttcam program: one parse, one way to fail, one table of exit codes.
#include <CLI/CLI.hpp>

#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace pttcam::cli {

// The exit codes of every pttcam program (and the --help footer that documents them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // at run time: a device, the network, a file
inline constexpr int kExitUsage = 2;    // the command line: a bad, missing or conflicting option
extern const char* const kExitCodesFooter;

// A program's own check of its command line failed (a missing option, two that conflict). main()
// prints it as one line and exits kExitUsage. The message names the option(s).
class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Parses the command line the way every pttcam program does: --help prints (with the exit-code
// footer) and exits 0; a bad argument is one line on stderr, "PROGRAM: what is wrong (see --help)",
// and exit code 2. Returns the exit code when the program should stop now, nothing when it should go on.
std::optional<int> parse(CLI::App& app, int argc, char** argv, const char* program);

// The whole of main(): runs `body` and turns what escapes into one line on stderr,
// "PROGRAM: what", and the exit code: UsageError and CLI11's parse errors 2, anything else 1.
int run_main(const char* program, const std::function<int()>& body);

// A CLI11 check from a parser that throws std::invalid_argument: the value is refused at parse time
// with the parser's message, prefixed by the option's name (CLI11 does that).
CLI::Validator parsed_by(std::string type_name, std::function<void(const std::string&)> parse);

// Calls `f`; its std::invalid_argument becomes a UsageError "OPTION: what".
template <class F>
auto usage_checked(std::string_view option, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const UsageError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string(option) + ": " + e.what());
  }
}

// Calls `f`; whatever it throws becomes a std::runtime_error "WHAT: why" (exit 1), so a failure at
// startup names the option that caused it (WHAT = "--input").
template <class F>
auto runtime_checked(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(what) + ": " + e.what());
  }
}

// Startup check of an output file option (--summary, --events, ...): its directory must exist and
// be writable, so a run is not wasted on results that cannot be kept. Throws std::runtime_error
// "OPTION PATH: why" (exit 1); an empty path (option not given) passes.
void require_writable(std::string_view option, const std::string& path);
// The same for each (option, path) pair, in order: the first that cannot be written is the error.
void require_writable(std::initializer_list<std::pair<std::string_view, std::string>> outputs);

// Writes `text` to the file an output option names; std::runtime_error "OPTION PATH: why" if it cannot.
void write_file(std::string_view option, const std::string& path, const std::string& text);

// A pair of options that bound a range (--jitter-min-ms / --jitter-max-ms): UsageError when low > high.
void require_not_above(std::string_view low_option, double low, std::string_view high_option, double high);

}  // namespace pttcam::cli
