#pragma once
// What pairing leaves behind on each side (docs/security.md): a 32-byte key shared by one camera
// and one client, and the ids that name them. Protected live views (DTLS 1.2 with this key as its
// PSK) find the key here: the camera by the client id the client presents, the client by the
// camera id the camera presents as its identity hint.
//
// Files are written temp -> fsync -> rename, mode 0600 in a 0700 directory, so a crash never
// leaves half a key and no other user can read one. Ids are 32 lowercase hex characters.
#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pttcam::secure {

using PairingKey = std::array<std::byte, 32>;

// A new id: 16 random bytes as 32 lowercase hex characters.
std::string new_id();
bool valid_id(std::string_view id) noexcept;

// The camera's side: its own id, and the key of every paired client. Held in `--state-dir`, or only
// in memory (nothing survives the process) when no directory is given.
class CameraKeyring {
 public:
  // Loads `dir`, creating it and a camera id on first use; throws std::runtime_error with the path
  // on a file it cannot read, write or parse.
  static CameraKeyring open(const std::filesystem::path& dir);
  static CameraKeyring in_memory();

  const std::string& camera_id() const noexcept { return camera_id_; }
  std::optional<PairingKey> client_key(std::string_view client_id) const;
  std::size_t client_count() const noexcept { return clients_.size(); }
  void add_client(const std::string& client_id, const PairingKey& key);  // replaces one of that id; saves
  bool remove_client(std::string_view client_id);                       // saves; false if unknown
  void forget_all();  // the factory reset: every client forgotten (the camera id stays); saves

 private:
  struct Client {
    std::string id;
    PairingKey key{};
  };
  void save() const;

  std::filesystem::path dir_;  // empty: in memory only
  std::string camera_id_;
  std::vector<Client> clients_;
};

// The client's side: one file per camera, `<dir>/cameras/<camera-id>`.
struct CameraPairing {
  std::string camera_id;
  std::string client_id;  // who this client is to that camera
  PairingKey key{};
  std::string camera_address;  // HOST:PORT it was paired at (informational)
};

class ClientKeyring {
 public:
  // `$XDG_CONFIG_HOME/pttcam`, else `$HOME/.config/pttcam`; throws when neither is set.
  static std::filesystem::path default_dir();
  explicit ClientKeyring(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::optional<CameraPairing> find(std::string_view camera_id) const;  // throws on a corrupt file
  std::vector<CameraPairing> all() const;
  void save(const CameraPairing& pairing) const;  // throws with the path when it cannot write
  bool remove(std::string_view camera_id) const;  // false if there was no such file

 private:
  std::filesystem::path dir_;
};

}  // namespace pttcam::secure
