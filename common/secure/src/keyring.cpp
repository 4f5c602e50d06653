#include "pttcam/secure/keyring.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "pttcam/secure/random.hpp"

namespace pttcam::secure {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCameraFile = "camera.json";
constexpr const char* kCamerasDir = "cameras";

std::string hex(std::span<const std::byte> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<PairingKey> parse_key(std::string_view text) {
  PairingKey key{};
  if (text.size() != key.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const int hi = hex_digit(text[2 * i]);
    const int lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    key[i] = static_cast<std::byte>(hi << 4 | lo);
  }
  return key;
}

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
  throw std::runtime_error(path.string() + ": " + what);
}

[[noreturn]] void fail_errno(const fs::path& path, const char* doing) {
  fail(path, std::string(doing) + ": " + std::strerror(errno));
}

// A directory only its owner may enter (keys live in it).
void make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir, "cannot create the directory: " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) fail_errno(dir, "cannot make the directory private");
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno(dir, "cannot open the directory");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail_errno(dir, "cannot sync the directory");
}

// temp -> fsync -> rename -> fsync(dir): a crash leaves the old file or the new one, never half of
// one; the file is 0600 from its first byte.
void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path temp = path.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) fail_errno(temp, "cannot write");
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      errno = saved;
      fail_errno(temp, "cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    errno = saved;
    fail_errno(temp, "cannot sync");
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    fail_errno(path, "cannot replace");
  }
  fsync_dir(path.parent_path());
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) fail(path, "cannot read");
  std::stringstream text;
  text << in.rdbuf();
  try {
    auto j = nlohmann::json::parse(text.str());
    if (!j.is_object()) fail(path, "not a pttcam key file (not a JSON object)");
    return j;
  } catch (const nlohmann::json::exception&) {
    fail(path, "not a pttcam key file (not JSON)");
  }
}

std::string id_field(const nlohmann::json& j, const char* name, const fs::path& path) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string() || !valid_id(it->get<std::string>()))
    fail(path, std::string("corrupt key file: \"") + name + "\" is not a 32-character hex id");
  return it->get<std::string>();
}

PairingKey key_field(const nlohmann::json& j, const char* name, const fs::path& path) {
  const auto it = j.find(name);
  std::optional<PairingKey> key;
  if (it != j.end() && it->is_string()) key = parse_key(it->get<std::string>());
  if (!key) fail(path, std::string("corrupt key file: \"") + name + "\" is not 64 hex characters");
  return *key;
}

}  // namespace

std::string new_id() {
  std::array<std::byte, 16> bytes{};
  random_bytes(bytes);
  return hex(bytes);
}

bool valid_id(std::string_view id) noexcept {
  return id.size() == 32 && std::ranges::all_of(id, [](char c) { return hex_digit(c) >= 0; });
}

CameraKeyring CameraKeyring::in_memory() {
  CameraKeyring k;
  k.camera_id_ = new_id();
  return k;
}

CameraKeyring CameraKeyring::open(const fs::path& dir) {
  CameraKeyring k;
  k.dir_ = dir;
  make_private_dir(dir);
  const fs::path file = dir / kCameraFile;
  if (!fs::exists(file)) {
    k.camera_id_ = new_id();
    k.save();
    return k;
  }
  const auto j = read_json(file);
  k.camera_id_ = id_field(j, "camera_id", file);
  const auto clients = j.find("clients");
  if (clients == j.end() || !clients->is_array()) fail(file, "corrupt key file: \"clients\" is not a list");
  for (const auto& c : *clients) {
    if (!c.is_object()) fail(file, "corrupt key file: a client is not an object");
    k.clients_.push_back({id_field(c, "id", file), key_field(c, "key", file)});
  }
  return k;
}

std::optional<PairingKey> CameraKeyring::client_key(std::string_view client_id) const {
  for (const auto& c : clients_)
    if (c.id == client_id) return c.key;
  return std::nullopt;
}

void CameraKeyring::add_client(const std::string& client_id, const PairingKey& key) {
  if (!valid_id(client_id)) throw std::invalid_argument("'" + client_id + "' is not a client id");
  auto next = clients_;
  std::erase_if(next, [&](const Client& c) { return c.id == client_id; });
  next.push_back({client_id, key});
  std::swap(clients_, next);
  try {
    save();
  } catch (...) {
    std::swap(clients_, next);  // what is in memory stays what is on disk
    throw;
  }
}

bool CameraKeyring::remove_client(std::string_view client_id) {
  const auto n = std::erase_if(clients_, [&](const Client& c) { return c.id == client_id; });
  if (n > 0) save();
  return n > 0;
}

void CameraKeyring::forget_all() {
  clients_.clear();
  save();
}

void CameraKeyring::save() const {
  if (dir_.empty()) return;
  nlohmann::json clients = nlohmann::json::array();
  for (const auto& c : clients_) clients.push_back({{"id", c.id}, {"key", hex(c.key)}});
  const nlohmann::json j = {{"camera_id", camera_id_}, {"clients", clients}};
  write_atomically(dir_ / kCameraFile, j.dump(2) + '\n');
}

fs::path ClientKeyring::default_dir() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return fs::path(xdg) / "pttcam";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".config" / "pttcam";
  throw std::runtime_error("neither XDG_CONFIG_HOME nor HOME is set: give --config-dir DIR");
}

std::optional<CameraPairing> ClientKeyring::find(std::string_view camera_id) const {
  if (!valid_id(camera_id)) return std::nullopt;  // also keeps a hostile id out of the path
  const fs::path file = dir_ / kCamerasDir / std::string(camera_id);
  if (!fs::exists(file)) return std::nullopt;
  const auto j = read_json(file);
  CameraPairing p;
  p.camera_id = id_field(j, "camera_id", file);
  if (p.camera_id != camera_id) fail(file, "corrupt key file: it names camera " + p.camera_id);
  p.client_id = id_field(j, "client_id", file);
  p.key = key_field(j, "key", file);
  if (const auto a = j.find("camera_address"); a != j.end() && a->is_string()) p.camera_address = a->get<std::string>();
  return p;
}

std::vector<CameraPairing> ClientKeyring::all() const {
  std::vector<CameraPairing> out;
  const fs::path cameras = dir_ / kCamerasDir;
  std::error_code ec;
  if (!fs::is_directory(cameras, ec)) return out;
  for (const auto& entry : fs::directory_iterator(cameras)) {
    const auto name = entry.path().filename().string();
    if (!valid_id(name)) continue;  // a leftover temp file
    if (auto p = find(name)) out.push_back(std::move(*p));
  }
  std::ranges::sort(out, {}, &CameraPairing::camera_id);
  return out;
}

void ClientKeyring::save(const CameraPairing& pairing) const {
  if (!valid_id(pairing.camera_id) || !valid_id(pairing.client_id))
    throw std::invalid_argument("a pairing needs 32-character hex camera and client ids");
  make_private_dir(dir_);
  make_private_dir(dir_ / kCamerasDir);
  const nlohmann::json j = {{"camera_id", pairing.camera_id},
                            {"client_id", pairing.client_id},
                            {"key", hex(pairing.key)},
                            {"camera_address", pairing.camera_address}};
  write_atomically(dir_ / kCamerasDir / pairing.camera_id, j.dump(2) + '\n');
}

bool ClientKeyring::remove(std::string_view camera_id) const {
  if (!valid_id(camera_id)) return false;
  const fs::path file = dir_ / kCamerasDir / std::string(camera_id);
  std::error_code ec;
  const bool removed = fs::remove(file, ec);
  if (ec) fail(file, "cannot delete: " + ec.message());
  if (removed) fsync_dir(file.parent_path());
  return removed;
}

}  // namespace pttcam::secure
