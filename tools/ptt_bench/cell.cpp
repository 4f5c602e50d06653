#include "cell.hpp"

#include "bench_io.hpp"
#include "results_format.hpp"

namespace pttcam::bench {

void write_cell(const CellArgs& args) {
  Json reference = nullptr;
  if (!args.variants.empty()) {
    reference = Json::array();
    for (const auto& v : args.variants) reference.push_back(read_json(v));
  }
  write_json(args.out, {{key::kName, args.name},
                        {key::kFrameMs, args.frame_ms},
                        {key::kLink, args.link},
                        {key::kMic, args.mic},
                        {key::kCodec, args.codec},
                        {key::kMode, args.mode},
                        {key::kOurs, read_json(args.ours)},
                        {key::kReference, reference}});
}

}  // namespace pttcam::bench
