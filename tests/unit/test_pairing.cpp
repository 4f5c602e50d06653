// Pairing: the keyrings on disk (round trip, modes, corrupt files, atomic replace), the pairing
// messages, the attempt limiter's schedule (injected time), and a camera's PairingServer with the
// client's pairing::pair over loopback TCP in one process (real GnuTLS SRP handshakes).
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include "process.hpp"
#include "pttcam/camera/pairing_server.hpp"
#include "pttcam/pairing/client.hpp"
#include "pttcam/pairing/code.hpp"
#include "pttcam/pairing/limiter.hpp"
#include "pttcam/pairing/wire.hpp"
#include "pttcam/secure/keyring.hpp"

using namespace pttcam;
using namespace std::chrono_literals;
using test::fs::path;

namespace {

unsigned mode_of(const path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

secure::PairingKey key_of(unsigned char fill) {
  secure::PairingKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(fill + i);
  return k;
}

void write_text(const path& p, const std::string& text) { std::ofstream(p) << text; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("keyrings keep keys in private files, replaced atomically") {
  const auto dir = test::scratch_dir("unit_keyring");

  SUBCASE("camera: the id and every client survive a reopen; 0700 directory, 0600 file") {
    const auto id = secure::new_id();
    std::string camera_id;
    {
      auto k = secure::CameraKeyring::open(dir / "state");
      camera_id = k.camera_id();
      CHECK(secure::valid_id(camera_id));
      k.add_client(id, key_of(1));
      k.add_client(secure::new_id(), key_of(2));
      k.add_client(id, key_of(3));  // replaces
      CHECK(k.client_count() == 2);
    }
    CHECK(mode_of(dir / "state") == 0700);
    CHECK(mode_of(dir / "state" / "camera.json") == 0600);
    auto k = secure::CameraKeyring::open(dir / "state");
    CHECK(k.camera_id() == camera_id);
    CHECK(k.client_count() == 2);
    CHECK(k.client_key(id) == key_of(3));
    CHECK_FALSE(k.client_key(secure::new_id()));
    CHECK(k.remove_client(id));
    CHECK_FALSE(k.remove_client(id));
    k.forget_all();
    const auto again = secure::CameraKeyring::open(dir / "state");
    CHECK(again.client_count() == 0);
    CHECK(again.camera_id() == camera_id);  // a reset forgets clients, not who the camera is
    CHECK_FALSE(test::fs::exists(dir / "state" / "camera.json.tmp"));
  }
  SUBCASE("camera in memory writes nothing") {
    auto k = secure::CameraKeyring::in_memory();
    k.add_client(secure::new_id(), key_of(4));
    CHECK(k.client_count() == 1);
    CHECK(test::fs::is_empty(dir));
  }
  SUBCASE("client: one 0600 file per camera in 0700 directories; find, all, remove") {
    const secure::ClientKeyring ring(dir / "cfg");
    secure::CameraPairing p{secure::new_id(), secure::new_id(), key_of(5), "127.0.0.1:5004"};
    ring.save(p);
    const auto file = dir / "cfg" / "cameras" / p.camera_id;
    CHECK(mode_of(dir / "cfg") == 0700);
    CHECK(mode_of(dir / "cfg" / "cameras") == 0700);
    CHECK(mode_of(file) == 0600);
    const auto found = ring.find(p.camera_id);
    REQUIRE(found);
    CHECK(found->client_id == p.client_id);
    CHECK(found->key == p.key);
    CHECK(found->camera_address == "127.0.0.1:5004");
    p.key = key_of(6);  // pairing again replaces the file whole
    ring.save(p);
    CHECK(ring.find(p.camera_id)->key == key_of(6));
    write_text(dir / "cfg" / "cameras" / (p.camera_id + ".tmp"), "half a key");  // a crash's leftover
    CHECK(ring.all().size() == 1);
    CHECK_FALSE(ring.find("../../etc/passwd"));
    CHECK(ring.remove(p.camera_id));
    CHECK_FALSE(test::fs::exists(file));
    CHECK_FALSE(ring.remove(p.camera_id));
  }
  SUBCASE("a corrupt file is a clear error naming it") {
    test::fs::create_directories(dir / "state");
    write_text(dir / "state" / "camera.json", "{\"camera_id\": \"xyz\", \"clients\": []}");
    CHECK(error_of([&] { secure::CameraKeyring::open(dir / "state"); }) ==
          (dir / "state" / "camera.json").string() + ": corrupt key file: \"camera_id\" is not a 32-character hex id");
    write_text(dir / "state" / "camera.json", "not json");
    CHECK(error_of([&] { secure::CameraKeyring::open(dir / "state"); }).find("not a pttcam key file") !=
          std::string::npos);
    const secure::ClientKeyring ring(dir / "cfg");
    const auto id = secure::new_id();
    test::fs::create_directories(dir / "cfg" / "cameras");
    write_text(dir / "cfg" / "cameras" / id,
               "{\"camera_id\": \"" + id + "\", \"client_id\": \"" + secure::new_id() + "\", \"key\": \"00\"}");
    CHECK(error_of([&] { ring.find(id); }) ==
          (dir / "cfg" / "cameras" / id).string() + ": corrupt key file: \"key\" is not 64 hex characters");
  }
  SUBCASE("default directory: XDG_CONFIG_HOME, else HOME/.config") {
    const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    const std::string saved = xdg ? xdg : "";
    ::setenv("XDG_CONFIG_HOME", "/x/y", 1);
    CHECK(secure::ClientKeyring::default_dir() == path("/x/y/pttcam"));
    ::unsetenv("XDG_CONFIG_HOME");
    ::setenv("HOME", "/h", 1);
    CHECK(secure::ClientKeyring::default_dir() == path("/h/.config/pttcam"));
    ::setenv("HOME", home.c_str(), 1);
    if (xdg) ::setenv("XDG_CONFIG_HOME", saved.c_str(), 1);
  }
}

TEST_CASE("pairing messages: one encoding each, checked before they are read") {
  pairing::MessageWriter w;
  const auto id = secure::new_id();
  for (const pairing::Message& m : {pairing::Message{pairing::Hello{}}, pairing::Message{pairing::Ready{}},
                                    pairing::Message{pairing::Locked{3600}}, pairing::Message{pairing::Busy{}},
                                    pairing::Message{pairing::Request{id}}, pairing::Message{pairing::Accept{id}}}) {
    const auto bytes = w.write(m);
    const std::vector<std::byte> copy(bytes.begin(), bytes.end());
    const auto d = pairing::decode(copy);
    REQUIRE(d.status == pairing::Decoded::Status::complete);
    CHECK(d.size == copy.size());
    CHECK(d.message.index() == m.index());
    for (std::size_t n = 0; n < copy.size(); ++n)  // every prefix may still become it
      CHECK(pairing::decode(std::span(copy).first(n)).status == pairing::Decoded::Status::incomplete);
  }
  const auto locked = w.write(pairing::Locked{120});
  CHECK(std::get<pairing::Locked>(pairing::decode(locked).message).seconds == 120);
  CHECK(std::get<pairing::Request>(pairing::decode(w.write(pairing::Request{id})).message).client_id == id);

  std::vector<std::byte> m(w.write(pairing::Request{id}).begin(), w.write(pairing::Request{id}).end());
  const auto error_of_bytes = [](std::vector<std::byte> b) {
    const auto d = pairing::decode(b);
    REQUIRE(d.status == pairing::Decoded::Status::bad);
    return d.error;
  };
  auto b = m;
  b[0] = std::byte{'X'};
  CHECK(error_of_bytes(b) == pairing::DecodeError::bad_magic);
  CHECK(error_of_bytes({std::byte{'P'}, std::byte{'X'}}) == pairing::DecodeError::bad_magic);  // early, from 2 bytes
  b = m;
  b[4] = std::byte{2};
  CHECK(error_of_bytes(b) == pairing::DecodeError::bad_version);
  b = m;
  b[5] = std::byte{7};
  CHECK(error_of_bytes(b) == pairing::DecodeError::unknown_type);
  b = m;
  b[7] = std::byte{31};
  CHECK(error_of_bytes(b) == pairing::DecodeError::bad_length);
  b = m;
  b[10] = std::byte{'G'};
  CHECK(error_of_bytes(b) == pairing::DecodeError::bad_id);
}

TEST_CASE("attempt limiter: 5 wrong codes lock 60 s, doubling to an hour, one attempt at a time") {
  using V = pairing::AttemptLimiter::Verdict;
  pairing::AttemptLimiter l;
  std::int64_t now = 1'000'000;
  const auto fail_five = [&] {
    std::optional<std::int64_t> lock;
    for (int i = 0; i < 5; ++i) {
      REQUIRE(l.begin(now) == V::go);
      CHECK(l.begin(now) == V::busy);  // a second connection meanwhile gets no guess
      lock = l.failed(now);
      if (i < 4) CHECK_FALSE(lock);
    }
    return lock.value_or(0);
  };
  CHECK(fail_five() == 60'000'000);
  CHECK(l.begin(now) == V::locked);
  CHECK(l.locked_for_us(now + 59'000'000) == 1'000'000);
  CHECK(l.begin(now + 59'999'999) == V::locked);
  now += 60'000'000;
  std::vector<std::int64_t> locks;
  for (int i = 0; i < 8; ++i) {
    const auto len = fail_five();
    locks.push_back(len / 1'000'000);
    now += len;
  }
  CHECK(locks == std::vector<std::int64_t>{120, 240, 480, 960, 1920, 3600, 3600, 3600});
  // An attempt that tried no code costs nothing; a success starts the count and the lengths afresh.
  for (int i = 0; i < 10; ++i) {
    REQUIRE(l.begin(now) == V::go);
    l.abandoned();
  }
  REQUIRE(l.begin(now) == V::go);
  CHECK_FALSE(l.failed(now));
  REQUIRE(l.begin(now) == V::go);
  l.succeeded();
  CHECK(l.wrong_codes() == 0);
  CHECK(fail_five() == 60'000'000);
  l.reset();
  CHECK(l.begin(now) == V::go);
}

TEST_CASE("pairing codes: 8 random digits by default and what --pairing-code takes") {
  const auto a = pairing::random_code();
  CHECK(a.size() == 8);
  CHECK(a.find_first_not_of("0123456789") == std::string::npos);
  int same = 0;
  for (int i = 0; i < 20; ++i) same += pairing::random_code() == a;
  CHECK(same < 2);
  CHECK(pairing::check_code("12345678").empty());
  CHECK(pairing::check_code("ab-CD-12").empty());
  CHECK(pairing::check_code("12345") == "a pairing code has 6 to 64 characters");
  CHECK(pairing::check_code("1234 5678") == "a pairing code has letters, digits and '-' only");
}

namespace {

struct FakeClock final : timing::Clock {
  std::int64_t now = 5'000'000;
  timing::Micros now_us() const noexcept override { return now; }
};

// A camera's pairing port and the client's pairing::pair, on one io_context in this thread.
struct Loopback {
  boost::asio::io_context io;
  FakeClock clock;
  measure::EventLog events;
  secure::CameraKeyring keyring = secure::CameraKeyring::in_memory();
  std::unique_ptr<camera::PairingServer> server;

  explicit Loopback(double timeout_s = 10) {
    camera::PairingOptions o;
    o.listen = {boost::asio::ip::address_v4::loopback(), 0};
    o.code = "12345678";
    o.attempt_timeout_s = timeout_s;
    server = std::make_unique<camera::PairingServer>(io, o, clock, events, keyring);
  }
  pairing::PairOutcome pair(const std::string& code, const std::string& client_id) {
    std::optional<pairing::PairOutcome> out;
    pairing::pair(io, server->local_endpoint(), code, client_id, 10s, [&](pairing::PairOutcome o) { out = o; });
    while (!out && io.run_one()) {
    }
    REQUIRE(out);
    return *out;
  }
};

}  // namespace

TEST_CASE("pairing over loopback TCP: the right code gives both sides one key, a wrong one nothing") {
  using Kind = pairing::PairOutcome::Kind;
  Loopback lo;

  SUBCASE("right code") {
    const auto client_id = secure::new_id();
    const auto out = lo.pair("12345678", client_id);
    REQUIRE_MESSAGE(out.kind == Kind::paired, out.error);
    CHECK(out.camera_id == lo.keyring.camera_id());
    REQUIRE(lo.keyring.client_key(client_id));
    CHECK(*lo.keyring.client_key(client_id) == out.key);
    CHECK(out.key != secure::PairingKey{});
    // A second pairing (another phone) gets another key.
    const auto other = lo.pair("12345678", secure::new_id());
    REQUIRE(other.kind == Kind::paired);
    CHECK(other.key != out.key);
    CHECK(lo.server->counters().succeeded == 2);
  }
  SUBCASE("wrong codes: no key; the sixth attempt is locked even with the right code, until the lock ends") {
    for (int i = 0; i < 5; ++i) CHECK(lo.pair("87654321", secure::new_id()).kind == Kind::wrong_code);
    CHECK(lo.keyring.client_count() == 0);
    const auto locked = lo.pair("12345678", secure::new_id());
    CHECK(locked.kind == Kind::locked);
    CHECK(locked.locked_s == 60);
    CHECK(lo.keyring.client_count() == 0);
    lo.clock.now += 30'000'000;
    CHECK(lo.pair("12345678", secure::new_id()).locked_s == 30);
    lo.clock.now += 30'000'000;
    CHECK(lo.pair("12345678", secure::new_id()).kind == Kind::paired);
    const auto& c = lo.server->counters();
    CHECK(c.failed == 5);
    CHECK(c.lockouts == 1);
    CHECK(c.refused_locked == 2);
  }
  SUBCASE("the factory reset lifts a lock") {
    for (int i = 0; i < 5; ++i) lo.pair("87654321", secure::new_id());
    CHECK(lo.pair("12345678", secure::new_id()).kind == Kind::locked);
    lo.server->reset_limits();
    CHECK(lo.pair("12345678", secure::new_id()).kind == Kind::paired);
  }
}

TEST_CASE("pairing port: a silent or stalled client holds nothing up for long") {
  using Kind = pairing::PairOutcome::Kind;
  Loopback lo(0.3);
  boost::asio::ip::tcp::socket silent(lo.io);
  silent.connect(lo.server->local_endpoint());  // connects, never says hello
  CHECK(lo.pair("12345678", secure::new_id()).kind == Kind::paired);

  // Says hello, then stalls before the handshake: the one attempt slot is taken until the deadline.
  boost::asio::ip::tcp::socket stalled(lo.io);
  stalled.connect(lo.server->local_endpoint());
  pairing::MessageWriter w;
  boost::asio::write(stalled, boost::asio::buffer(w.write(pairing::Hello{}).data(), pairing::kHeaderSize));
  std::array<std::byte, pairing::kMaxMessageSize> answer{};
  bool ready = false;
  stalled.async_read_some(boost::asio::buffer(answer), [&](const boost::system::error_code& ec, std::size_t n) {
    ready = !ec && pairing::decode(std::span(answer).first(n)).message.index() == 1;
  });
  while (!ready && lo.io.run_one()) {
  }
  REQUIRE(ready);
  CHECK(lo.pair("12345678", secure::new_id()).kind == Kind::busy);
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (lo.server->counters().abandoned == 0 && std::chrono::steady_clock::now() < until) lo.io.run_for(20ms);
  CHECK(lo.server->counters().abandoned == 1);  // it sent no TLS byte: no code tried, no count
  CHECK(lo.server->counters().timeouts >= 1);
  CHECK(lo.pair("12345678", secure::new_id()).kind == Kind::paired);
  CHECK(lo.server->counters().failed == 0);
}
