#include "pttcam/webrtc/ice_agent.hpp"

#include <agent.h>

#include <stdexcept>
#include <thread>

namespace pttcam::webrtc {

struct IceAgent::Impl {
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  NiceAgent* agent = nullptr;
  guint stream = 0;
  Receive on_receive;
  StateChange on_state;
  std::thread thread;

  static void received(NiceAgent*, guint, guint, guint len, gchar* buf, gpointer self) {
    auto* impl = static_cast<Impl*>(self);
    const auto* p = reinterpret_cast<const std::byte*>(buf);
    impl->on_receive(std::vector<std::byte>(p, p + len));
  }
  static void state_changed(NiceAgent*, guint, guint, guint state, gpointer self) {
    auto* impl = static_cast<Impl*>(self);
    if (state == NICE_COMPONENT_STATE_READY)
      impl->on_state(IceState::connected);
    else if (state == NICE_COMPONENT_STATE_FAILED)
      impl->on_state(IceState::failed);
  }
};

IceAgent::IceAgent(const std::string& address, Receive on_receive, StateChange on_state) : impl_(std::make_unique<Impl>()) {
  auto& i = *impl_;
  i.on_receive = std::move(on_receive);
  i.on_state = std::move(on_state);
  i.context = g_main_context_new();
  i.loop = g_main_loop_new(i.context, FALSE);
  i.agent = nice_agent_new(i.context, NICE_COMPATIBILITY_RFC5245);
  g_object_set(i.agent, "controlling-mode", FALSE, "ice-tcp", FALSE, nullptr);
  // A wildcard address leaves libnice to gather on every interface it finds.
  if (address != "0.0.0.0" && address != "::") {
    NiceAddress local;
    nice_address_init(&local);
    if (!nice_address_set_from_string(&local, address.c_str()) || !nice_agent_add_local_address(i.agent, &local))
      throw std::runtime_error("ICE cannot use the address " + address);
  }
  i.stream = nice_agent_add_stream(i.agent, 1);
  g_signal_connect(i.agent, "component-state-changed", G_CALLBACK(Impl::state_changed), &i);
  nice_agent_attach_recv(i.agent, i.stream, 1, i.context, Impl::received, &i);
  if (!nice_agent_gather_candidates(i.agent, i.stream)) throw std::runtime_error("ICE gathered no candidate on " + address);
  gchar* ufrag = nullptr;
  gchar* pwd = nullptr;
  nice_agent_get_local_credentials(i.agent, i.stream, &ufrag, &pwd);
  ufrag_ = ufrag ? ufrag : "";
  pwd_ = pwd ? pwd : "";
  g_free(ufrag);
  g_free(pwd);
  // Host candidates exist once gathering has started; there is nothing else to wait for.
  GSList* cands = nice_agent_get_local_candidates(i.agent, i.stream, 1);
  for (GSList* c = cands; c; c = c->next) {
    auto* cand = static_cast<NiceCandidate*>(c->data);
    if (candidates_.empty()) port_ = static_cast<unsigned short>(nice_address_get_port(&cand->addr));
    gchar* line = nice_agent_generate_local_candidate_sdp(i.agent, cand);  // "a=candidate:..."
    std::string s = line ? line : "";
    g_free(line);
    if (s.rfind("a=", 0) == 0) s.erase(0, 2);
    if (!s.empty()) candidates_.push_back(s);
  }
  g_slist_free_full(cands, reinterpret_cast<GDestroyNotify>(nice_candidate_free));
  if (candidates_.empty()) throw std::runtime_error("ICE gathered no candidate on " + address);
  i.thread = std::thread([loop = i.loop] { g_main_loop_run(loop); });
}

IceAgent::~IceAgent() {
  auto& i = *impl_;
  if (i.thread.joinable()) {
    // Quit from inside the loop so a quit before run starts is not lost.
    g_main_context_invoke(i.context, [](gpointer loop) -> gboolean {
      g_main_loop_quit(static_cast<GMainLoop*>(loop));
      return G_SOURCE_REMOVE;
    }, i.loop);
    i.thread.join();
  }
  if (i.agent) {
    nice_agent_attach_recv(i.agent, i.stream, 1, i.context, nullptr, nullptr);
    g_signal_handlers_disconnect_by_data(i.agent, &i);
    nice_agent_remove_stream(i.agent, i.stream);
    g_object_unref(i.agent);
  }
  if (i.loop) g_main_loop_unref(i.loop);
  if (i.context) g_main_context_unref(i.context);
}

int IceAgent::set_remote(const std::string& ufrag, const std::string& pwd, const std::vector<std::string>& candidates) {
  auto& i = *impl_;
  nice_agent_set_remote_credentials(i.agent, i.stream, ufrag.c_str(), pwd.c_str());
  GSList* list = nullptr;
  int taken = 0;
  for (const auto& c : candidates) {
    NiceCandidate* cand = nice_agent_parse_remote_candidate_sdp(i.agent, i.stream, ("a=" + c).c_str());
    if (!cand) continue;
    if (cand->transport != NICE_CANDIDATE_TRANSPORT_UDP) {
      nice_candidate_free(cand);
      continue;
    }
    list = g_slist_append(list, cand);
    ++taken;
  }
  if (list) nice_agent_set_remote_candidates(i.agent, i.stream, 1, list);
  g_slist_free_full(list, reinterpret_cast<GDestroyNotify>(nice_candidate_free));
  return taken;
}

bool IceAgent::send(std::span<const std::byte> datagram) {
  const gint n = nice_agent_send(impl_->agent, impl_->stream, 1, static_cast<guint>(datagram.size()),
                                 reinterpret_cast<const gchar*>(datagram.data()));
  return n == static_cast<gint>(datagram.size());
}

}  // namespace pttcam::webrtc
