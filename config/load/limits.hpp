// Bounds of the config values. Anything outside is far more likely a typo
// ("5h" for "5s") than intent.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config.hpp"

namespace wsheart::config {

constexpr Duration kShortestDuration{10};
constexpr Duration kLongestDuration{24LL * 60 * 60 * 1000};
constexpr std::uint64_t kLargestMessageSize = 1ULL << 30;  // 1GiB
constexpr std::int64_t kLargestSendQueue = 1'000'000;
constexpr std::int64_t kLargestHistory = 100'000;
constexpr std::int64_t kMostHandshakes = 10'000;
// metrics_interval: node_exporter is scraped every 15 s or so; a file
// rewritten more often than 10 times a second only costs.
constexpr Duration kShortestMetricsInterval{100};
constexpr Duration kLongestMetricsInterval{60LL * 60 * 1000};
constexpr double kLargestMultiplier = 100.0;
constexpr std::size_t kLongestIdBytes = 255;
constexpr std::int64_t kLargestUid = 4'294'967'294;  // (uid_t)-1 means "no user"
constexpr off_t kLargestConfigFile = 16 * 1024 * 1024;

// Header fields the WebSocket client writes itself; overriding them breaks the upgrade.
constexpr std::array<std::string_view, 5> kHandshakeHeaders{"host", "upgrade", "connection", "sec-websocket-key",
                                                            "sec-websocket-version"};

}  // namespace wsheart::config
