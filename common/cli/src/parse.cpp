#include "pttcam/cli/parse.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace pttcam::cli {

const char* const kExitCodesFooter =
    "Exit codes: 0 ok; 1 runtime failure (device, network, file); 2 usage error (bad, missing or "
    "conflicting options).";

std::optional<int> parse(CLI::App& app, int argc, char** argv, const char* program) {
  app.footer(kExitCodesFooter);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
    return kExitUsage;
  }
  return std::nullopt;
}

int run_main(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return kExitFailure;
  }
}

CLI::Validator parsed_by(std::string type_name, std::function<void(const std::string&)> parse) {
  return CLI::Validator(
      [parse = std::move(parse)](std::string& value) -> std::string {
        try {
          parse(value);
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
        return {};
      },
      std::move(type_name));
}

void require_writable(std::string_view option, const std::string& path) {
  if (path.empty()) return;
  namespace fs = std::filesystem;
  const auto fail = [&](const std::string& why) {
    return std::runtime_error(std::string(option) + " " + path + ": " + why);
  };
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw fail("is a directory, not a file");
  const fs::path parent = fs::path(path).parent_path();
  const fs::path dir = parent.empty() ? fs::path(".") : parent;
  if (!fs::is_directory(dir, ec)) throw fail("directory " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0) throw fail("cannot write in " + dir.string() + ": " + std::strerror(errno));
  if (fs::exists(path, ec) && ::access(path.c_str(), W_OK) != 0) throw fail(std::strerror(errno));
}

void write_file(std::string_view option, const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error(std::string(option) + " " + path + ": cannot write: " + std::strerror(errno));
}

void require_not_above(std::string_view low_option, double low, std::string_view high_option, double high) {
  if (low <= high) return;
  const auto number = [](double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
    return s;
  };
  throw UsageError(std::string(low_option) + " " + number(low) + " is above " + std::string(high_option) + " " +
                   number(high) + ": the smallest cannot exceed the largest");
}

void require_writable(std::initializer_list<std::pair<std::string_view, std::string>> outputs) {
  for (const auto& [option, path] : outputs) require_writable(option, path);
}

}  // namespace pttcam::cli
