// Interim keyring: enough for protected live views until pairing brings the full one.
#include "pttcam/secure/keyring.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "pttcam/secure/random.hpp"

namespace pttcam::secure {
namespace {
std::string hex(std::span<const std::byte> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto x : b) {
    s += d[std::to_integer<int>(x) >> 4];
    s += d[std::to_integer<int>(x) & 15];
  }
  return s;
}
PairingKey key_from_hex(const std::string& h) {
  PairingKey k{};
  if (h.size() != 64) throw std::runtime_error("bad key");
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(std::stoi(h.substr(2 * i, 2), nullptr, 16));
  return k;
}
}  // namespace

std::string new_id() {
  std::array<std::byte, 16> b{};
  random_bytes(b);
  return hex(b);
}

bool valid_id(std::string_view id) noexcept {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

CameraKeyring CameraKeyring::open(const std::filesystem::path& dir) {
  CameraKeyring k;
  k.dir_ = dir;
  std::filesystem::create_directories(dir);
  std::ifstream in(dir / "camera.json");
  if (in) {
    const auto j = nlohmann::json::parse(in);
    k.camera_id_ = j.at("camera_id");
    for (const auto& c : j.at("clients")) k.clients_.push_back({c.at("id"), key_from_hex(c.at("key"))});
  } else {
    k.camera_id_ = new_id();
    k.save();
  }
  return k;
}

CameraKeyring CameraKeyring::in_memory() {
  CameraKeyring k;
  k.camera_id_ = new_id();
  return k;
}

std::optional<PairingKey> CameraKeyring::client_key(std::string_view client_id) const {
  for (const auto& c : clients_)
    if (c.id == client_id) return c.key;
  return std::nullopt;
}

void CameraKeyring::add_client(const std::string& client_id, const PairingKey& key) {
  remove_client(client_id);
  clients_.push_back({client_id, key});
  save();
}

bool CameraKeyring::remove_client(std::string_view client_id) {
  const auto n = std::erase_if(clients_, [&](const Client& c) { return c.id == client_id; });
  save();
  return n > 0;
}

void CameraKeyring::forget_all() {
  clients_.clear();
  save();
}

void CameraKeyring::save() const {
  if (dir_.empty()) return;
  nlohmann::json j{{"camera_id", camera_id_}, {"clients", nlohmann::json::array()}};
  for (const auto& c : clients_) j["clients"].push_back({{"id", c.id}, {"key", hex(c.key)}});
  std::ofstream(dir_ / "camera.json") << j.dump(2);
}

std::filesystem::path ClientKeyring::default_dir() {
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) return std::filesystem::path(x) / "pttcam";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".config" / "pttcam";
  throw std::runtime_error("neither XDG_CONFIG_HOME nor HOME is set");
}

std::optional<CameraPairing> ClientKeyring::find(std::string_view camera_id) const {
  std::ifstream in(dir_ / "cameras" / std::string(camera_id));
  if (!in) return std::nullopt;
  const auto j = nlohmann::json::parse(in);
  return CameraPairing{j.at("camera_id"), j.at("client_id"), key_from_hex(j.at("key")), j.value("camera_address", "")};
}

std::vector<CameraPairing> ClientKeyring::all() const { return {}; }

void ClientKeyring::save(const CameraPairing& p) const {
  std::filesystem::create_directories(dir_ / "cameras");
  nlohmann::json j{{"camera_id", p.camera_id}, {"client_id", p.client_id}, {"key", hex(p.key)}, {"camera_address", p.camera_address}};
  std::ofstream(dir_ / "cameras" / p.camera_id) << j.dump(2);
}

bool ClientKeyring::remove(std::string_view camera_id) const {
  return std::filesystem::remove(dir_ / "cameras" / std::string(camera_id));
}

}  // namespace pttcam::secure
