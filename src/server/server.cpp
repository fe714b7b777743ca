#include "lcstore/server/server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>

#include "lcstore/error.h"
#include "lcstore/lightcurve/info_json.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"
#include "server/cutout.h"
#include "server/export.h"
#include "server/images.h"
#include "server/query.h"

namespace lcstore::server {

using lightcurve::EpochTable;
using lightcurve::LightCurve;
using lightcurve::LightCurveStore;
using lightcurve::ObjectMatch;
using nlohmann::json;

namespace {

// The store, opened again when its root metadata changes: a rechunk or an
// added epoch rewrites it, while a populate only writes chunks, which every
// read sees as they land.
class StoreHolder {
 public:
  explicit StoreHolder(std::filesystem::path path) : path_(std::move(path)) { reopen_if_changed(); }

  std::shared_ptr<const LightCurveStore> current() {
    std::lock_guard lock(mutex_);
    reopen_if_changed();
    return store_;
  }

 private:
  // Modification time and size of zarr.json; rename() of a new version changes the inode too.
  struct Stamp {
    int64_t seconds = -1, nanoseconds = 0, size = 0;
    uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };

  Stamp stamp() const {
    struct stat status {};
    if (::stat((path_ / "zarr.json").c_str(), &status) != 0) return {};
    return {status.st_mtim.tv_sec, status.st_mtim.tv_nsec, status.st_size, status.st_ino};
  }

  void reopen_if_changed() {
    const Stamp now = stamp();
    if (store_ && now == stamp_) return;
    store_ = std::make_shared<const LightCurveStore>(LightCurveStore::open(std::make_shared<DirectoryStore>(path_)));
    stamp_ = now;
  }

  std::filesystem::path path_;
  std::mutex mutex_;
  std::shared_ptr<const LightCurveStore> store_;
  Stamp stamp_;
};

int status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kBadInput:
      return 400;
    case ErrorKind::kNotFound:
      return 404;
    default:
      return 500;
  }
}

void send_json(httplib::Response& response, const json& body, int status = 200) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& response, const Error& error) {
  send_json(response,
            {{"error", {{"kind", to_string(error.kind())}, {"subject", error.subject()}, {"reason", error.reason()}}}},
            status_of(error.kind()));
}

// A float32 as the double of its shortest decimal form, so that JSON shows
// 20.924364, not 20.92436408996582 (NaN stays NaN, which JSON shows as null).
double shortest(float value) {
  if (!std::isfinite(value)) return value;
  char text[32];
  const auto printed = std::to_chars(text, text + sizeof(text), value);
  double number = value;
  std::from_chars(text, printed.ptr, number);
  return number;
}

json object_json(const LightCurveStore& store, uint64_t row) {
  const lightcurve::ObjectTable& objects = store.object_table();
  return {{"object", objects.keys[row]},   {"index", row},
          {"ra", objects.ra[row]},         {"dec", objects.dec[row]},
          {"x", shortest(objects.x[row])}, {"y", shortest(objects.y[row])}};
}

// Light curves are most of what the API sends, so they are written straight
// into the answer: float32 in their shortest form, missing (NaN) as null.
template <typename T>
void append_number(fmt::memory_buffer& out, T value) {
  if (std::isfinite(value)) {
    fmt::format_to(std::back_inserter(out), "{}", value);
  } else {
    out.append(std::string_view("null"));
  }
}

void append_string(fmt::memory_buffer& out, const std::string& text) {
  out.append(json(text).dump(-1, ' ', false, json::error_handler_t::replace));
}

// The object's fields, then data[measurement][value] = its values in epoch order.
void append_curve(fmt::memory_buffer& out, const LightCurveStore& store, const LightCurve& curve) {
  const size_t n_epochs = store.epochs().keys.size();
  auto to = std::back_inserter(out);
  out.append(std::string_view("{\"object\":"));
  append_string(out, curve.object);
  fmt::format_to(to, ",\"index\":{},\"ra\":", store.object_index(curve.object));
  append_number(out, curve.ra);
  out.append(std::string_view(",\"dec\":"));
  append_number(out, curve.dec);
  out.append(std::string_view(",\"x\":"));
  append_number(out, curve.x);
  out.append(std::string_view(",\"y\":"));
  append_number(out, curve.y);
  out.append(std::string_view(",\"data\":{"));
  for (size_t m = 0; m < curve.measurements.size(); ++m) {
    if (m > 0) out.push_back(',');
    append_string(out, curve.measurements[m]);
    out.append(std::string_view(":{"));
    for (size_t v = 0; v < curve.values.size(); ++v) {
      if (v > 0) out.push_back(',');
      append_string(out, curve.values[v]);
      out.append(std::string_view(":["));
      const std::span<const float> values = curve.data.subspan((m * curve.values.size() + v) * n_epochs, n_epochs);
      for (size_t e = 0; e < values.size(); ++e) {
        if (e > 0) out.push_back(',');
        append_number(out, values[e]);
      }
      out.push_back(']');
    }
    out.push_back('}');
  }
  out.append(std::string_view("}}"));
}

void send_curves(httplib::Response& response, const LightCurveStore& store, const std::vector<LightCurve>& curves,
                 bool as_list) {
  fmt::memory_buffer out;
  if (as_list) out.append(std::string_view("{\"curves\":["));
  for (size_t k = 0; k < curves.size(); ++k) {
    if (k > 0) out.push_back(',');
    append_curve(out, store, curves[k]);
  }
  if (as_list) out.append(std::string_view("]}"));
  response.set_content(out.data(), out.size(), "application/json");
}

std::optional<std::string> measurement_of(const Query& query, const LightCurveStore& store) {
  std::optional<std::string> measurement = query.text("measurement");
  if (measurement &&
      std::find(store.measurements().begin(), store.measurements().end(), *measurement) == store.measurements().end())
    throw Error(ErrorKind::kInvalidArgument, "measurement", "no such measurement in the store: " + *measurement);
  return measurement;
}

}  // namespace

struct Server::State {
  ServerOptions options;
  StoreHolder store;
  ImageFiles images;
  httplib::Server http;
  int port = 0;

  explicit State(ServerOptions server_options)
      : options(std::move(server_options)), store(options.store), images(image_files(options)) {}

  static ImageFiles image_files(const ServerOptions& options) {
    if (!options.images.empty() && !options.image_map.empty())
      throw Error(ErrorKind::kInvalidArgument, "images", "give an image directory or an image map, not both");
    if (!options.images.empty()) return ImageFiles::from_directory(options.images);
    if (!options.image_map.empty()) return ImageFiles::from_map(options.image_map);
    return {};
  }

  // Runs `handler` with the current store, answering an Error with its JSON.
  template <typename Handler>
  httplib::Server::Handler api(Handler handler) {
    return [this, handler](const httplib::Request& request, httplib::Response& response) {
      try {
        const std::shared_ptr<const LightCurveStore> current = store.current();
        handler(*current, request, response);
      } catch (const Error& error) {
        send_error(response, error);
      }
    };
  }

  void info(const LightCurveStore& lc, const httplib::Request& request, httplib::Response& response) {
    Query query(request, {});
    const EpochTable& epochs = lc.epochs();
    json epoch_table = {{"epoch", epochs.keys}};
    json variables = json::array();
    for (const EpochTable::Variable& variable : epochs.variables) {
      const std::string name = "epoch_" + variable.name;
      variables.push_back(name);
      std::visit([&](const auto& values) { epoch_table[name] = values; }, variable.values);
    }
    // The layouts and coordinate ranges as `lcstore info` reports them.
    const json summary = to_json(lc.info());
    const Limits& limits = options.limits;
    send_json(response, {{"shape", lc.write_layout().shape()},
                         {"dimensions", {"object", "measurement", "value", "epoch"}},
                         {"n_objects", lc.n_objects()},
                         {"measurements", lc.measurements()},
                         {"values", lc.values()},
                         {"epochs", epoch_table},
                         {"epoch_variables", variables},
                         {"ra_range", summary["ra_range"]},
                         {"dec_range", summary["dec_range"]},
                         {"write_layout", summary["write_layout"]},
                         {"read_layout", summary["read_layout"]},
                         {"images", images.available(epochs.keys)},
                         {"limits",
                          {{"max_page", limits.max_page},
                           {"max_curves", limits.max_curves},
                           {"max_ids", limits.max_ids},
                           {"max_cutout_pixels", limits.max_cutout_pixels}}}});
  }

  void objects(const LightCurveStore& lc, const httplib::Request& request, httplib::Response& response) {
    Query query(request, {"ra", "dec", "radius", "ra_min", "ra_max", "dec_min", "dec_max", "ids", "sort", "order",
                          "offset", "limit"});
    const bool cone = query.has("ra") || query.has("dec") || query.has("radius");
    const bool box = query.has("ra_min") || query.has("ra_max") || query.has("dec_min") || query.has("dec_max");
    const bool ids = query.has("ids");
    if (cone + box + ids > 1)
      throw Error(ErrorKind::kInvalidArgument, ids ? "ids" : "ra_min",
                  "a cone (ra, dec, radius), a box (ra_min, ra_max, dec_min, dec_max) and ids exclude each other");
    enum class Sort { kObject, kRa, kDec, kSeparation };
    std::optional<Sort> sort = query.choice<Sort>(
        "sort", {{"object", Sort::kObject}, {"ra", Sort::kRa}, {"dec", Sort::kDec}, {"separation", Sort::kSeparation}});
    const bool descending = query.choice<bool>("order", {{"asc", false}, {"desc", true}}).value_or(false);
    if (sort == Sort::kSeparation && !cone)
      throw Error(ErrorKind::kInvalidArgument, "sort", "separation needs a cone search (ra, dec, radius)");
    const uint64_t offset = query.count("offset", 0, UINT64_MAX).value_or(0);
    const uint64_t limit =
        query.count("limit", 1, options.limits.max_page).value_or(std::min<uint64_t>(1000, options.limits.max_page));

    std::vector<ObjectMatch> matches;
    if (cone) {
      const double ra = query.required_number("ra", -360, 360);
      const double dec = query.required_number("dec", -90, 90);
      const double radius = query.required_number("radius", 0, 180 * 3600);
      if (radius <= 0) throw Error(ErrorKind::kInvalidArgument, "radius", "must be positive");
      matches = lc.cone(ra, dec, radius);
    } else if (box) {
      const double ra_min = query.required_number("ra_min", -360, 360);
      const double ra_max = query.required_number("ra_max", -360, 360);
      const double dec_min = query.required_number("dec_min", -90, 90);
      const double dec_max = query.required_number("dec_max", -90, 90);
      if (dec_min > dec_max) throw Error(ErrorKind::kInvalidArgument, "dec_min", "must not exceed dec_max");
      matches = lc.region(ra_min, ra_max, dec_min, dec_max);
    } else if (ids) {
      for (const std::string& key : query.list("ids", options.limits.max_ids))
        matches.push_back({lc.object_index(key), 0});
    } else {
      matches.resize(lc.n_objects());
      for (uint64_t row = 0; row < matches.size(); ++row) matches[row] = {row, 0};
    }
    const lightcurve::ObjectTable& table = lc.object_table();
    auto key = [&](const ObjectMatch& match) {
      switch (*sort) {
        case Sort::kRa:
          return table.ra[match.index];
        case Sort::kDec:
          return table.dec[match.index];
        case Sort::kSeparation:
          return match.separation_arcsec;
        case Sort::kObject:
          break;
      }
      return static_cast<double>(match.index);
    };
    if (sort) {
      std::stable_sort(matches.begin(), matches.end(),
                       [&](const ObjectMatch& a, const ObjectMatch& b) { return key(a) < key(b); });
    }
    if (descending) std::reverse(matches.begin(), matches.end());
    json rows = json::array();
    for (uint64_t i = offset; i < matches.size() && i - offset < limit; ++i) {
      json row = object_json(lc, matches[i].index);
      if (cone) row["separation_arcsec"] = matches[i].separation_arcsec;
      rows.push_back(std::move(row));
    }
    send_json(response, {{"total", matches.size()}, {"offset", offset}, {"limit", limit}, {"objects", rows}});
  }

  void light_curve(const LightCurveStore& lc, const httplib::Request& request, httplib::Response& response) {
    Query query(request, {"measurement"});
    send_curves(response, lc, {lc.light_curve(request.matches[1], measurement_of(query, lc))}, false);
  }

  void light_curves(const LightCurveStore& lc, const httplib::Request& request, httplib::Response& response) {
    Query query(request, {"ids", "measurement"});
    const std::vector<std::string> ids = query.list("ids", options.limits.max_curves);
    if (ids.empty()) throw Error(ErrorKind::kInvalidArgument, "ids", "is required");
    send_curves(response, lc, lc.light_curves(ids, measurement_of(query, lc)), true);
  }

  void epoch(const LightCurveStore& lc, const httplib::Request& request, httplib::Response& response) {
    Query query(request, {"measurement", "offset", "limit"});
    const std::optional<std::string> measurement = measurement_of(query, lc);
    const uint64_t offset = query.count("offset", 0, UINT64_MAX).value_or(0);
    const uint64_t limit = query.count("limit", 1, options.limits.max_page).value_or(options.limits.max_page);
    const lightcurve::EpochSlice slice = lc.epoch(request.matches[1]);
    const uint64_t n_objects = lc.n_objects();
    const uint64_t begin = std::min(offset, n_objects), end = std::min(n_objects, begin + limit);
    const size_t n_measurements = lc.measurements().size(), n_values = lc.values().size();
    json data = json::object();
    for (size_t m = 0; m < n_measurements; ++m) {
      if (measurement && lc.measurements()[m] != *measurement) continue;
      json values = json::object();
      for (size_t v = 0; v < n_values; ++v) {
        json column = json::array();
        for (uint64_t o = begin; o < end; ++o)
          column.push_back(shortest(slice.data[(o * n_measurements + m) * n_values + v]));
        values[lc.values()[v]] = std::move(column);
      }
      data[lc.measurements()[m]] = std::move(values);
    }
    const auto first = lc.objects().begin();
    send_json(response, {{"epoch", slice.epoch},
                         {"total", n_objects},
                         {"offset", offset},
                         {"limit", limit},
                         {"objects", std::vector<std::string>(first + static_cast<ptrdiff_t>(begin),
                                                              first + static_cast<ptrdiff_t>(end))},
                         {"data", data}});
  }

  void export_curves(const LightCurveStore& lc, const httplib::Request& request, httplib::Response& response) {
    Query query(request, {"ids", "measurement", "format"});
    const std::vector<std::string> ids = query.list("ids", options.limits.max_curves);
    if (ids.empty()) throw Error(ErrorKind::kInvalidArgument, "ids", "is required");
    const ExportFormat format = query
                                    .choice<ExportFormat>("format", {{"csv", ExportFormat::kCsv},
                                                                     {"ecsv", ExportFormat::kEcsv},
                                                                     {"votable", ExportFormat::kVotable}})
                                    .value_or(ExportFormat::kCsv);
    const std::string body = export_light_curves(lc, lc.light_curves(ids, measurement_of(query, lc)), format);
    response.set_header("Content-Disposition",
                        fmt::format("attachment; filename=\"lightcurves.{}\"", file_extension(format)));
    response.set_content(body, content_type(format));
  }

  void image_list(const LightCurveStore& lc, const httplib::Request& request, httplib::Response& response) {
    Query query(request, {});
    send_json(response, {{"images", images.available(lc.epochs().keys)}});
  }

  Cutout cutout(const LightCurveStore& lc, const httplib::Request& request) {
    Query query(request, {"epoch", "ra", "dec", "size", "norm", "pmin", "pmax", "cmap", "markers"});
    const std::string epoch = query.required_text("epoch");
    if (epoch != ImageFiles::kCoadd) lc.epoch_index(epoch);
    CutoutRequest cut;
    cut.ra = query.required_number("ra", -360, 360);
    cut.dec = query.required_number("dec", -90, 90);
    cut.size = static_cast<uint32_t>(query.count("size", 16, options.limits.max_cutout_pixels).value_or(256));
    cut.normalization = query
                            .choice<Normalization>("norm", {{"linear", Normalization::kLinear},
                                                            {"sqrt", Normalization::kSqrt},
                                                            {"log", Normalization::kLog},
                                                            {"asinh", Normalization::kAsinh}})
                            .value_or(Normalization::kLinear);
    cut.low_percentile = query.number("pmin", 0, 100).value_or(1.0);
    cut.high_percentile = query.number("pmax", 0, 100).value_or(99.5);
    if (cut.low_percentile >= cut.high_percentile)
      throw Error(ErrorKind::kInvalidArgument, "pmin", "must be below pmax");
    cut.colormap = query
                       .choice<Colormap>("cmap", {{"gray", Colormap::kGray},
                                                  {"viridis", Colormap::kViridis},
                                                  {"magma", Colormap::kMagma},
                                                  {"hot", Colormap::kHot}})
                       .value_or(Colormap::kGray);
    const lightcurve::ObjectTable& table = lc.object_table();
    for (const std::string& key : query.list("markers", options.limits.max_ids)) {
      const uint64_t row = lc.object_index(key);
      cut.markers.push_back({key, table.ra[row], table.dec[row]});
    }
    std::optional<std::filesystem::path> file = images.find(epoch);
    if (!file) throw Error(ErrorKind::kNotFound, epoch, "no image of this epoch is served");
    cut.file = *file;
    return render_cutout(cut);
  }

  void cutout_png(const LightCurveStore& lc, const httplib::Request& request, httplib::Response& response) {
    response.set_content(encode_png(cutout(lc, request)), "image/png");
  }

  void cutout_markers(const LightCurveStore& lc, const httplib::Request& request, httplib::Response& response) {
    const Cutout cut = cutout(lc, request);
    json markers = json::array();
    for (const PlacedMarker& marker : cut.markers)
      markers.push_back({{"object", marker.object}, {"x", marker.x}, {"y", marker.y}});
    send_json(response, {{"size", cut.size},
                         {"center", {{"x", cut.center_x}, {"y", cut.center_y}}},
                         {"stretch", {{"low", cut.low}, {"high", cut.high}}},
                         {"markers", markers}});
  }

  void routes() {
    using Self = State;
    auto bind = [this](void (Self::*method)(const LightCurveStore&, const httplib::Request&, httplib::Response&)) {
      return api([this, method](const LightCurveStore& lc, const httplib::Request& request,
                                httplib::Response& response) { (this->*method)(lc, request, response); });
    };
    http.Get("/api/info", bind(&Self::info));
    http.Get("/api/objects", bind(&Self::objects));
    http.Get(R"(/api/lightcurve/([^/]+))", bind(&Self::light_curve));
    http.Get("/api/lightcurves", bind(&Self::light_curves));
    http.Get(R"(/api/epoch/([^/]+))", bind(&Self::epoch));
    http.Get("/api/export", bind(&Self::export_curves));
    http.Get("/api/images", bind(&Self::image_list));
    http.Get("/api/cutout", bind(&Self::cutout_png));
    http.Get("/api/cutout/markers", bind(&Self::cutout_markers));
  }

  // Browsers send Origin with cross-origin requests: those are refused, so
  // that another site's page cannot use the API even where it could not
  // read the answer.
  static httplib::Server::HandlerResponse same_origin_only(const httplib::Request& request,
                                                           httplib::Response& response) {
    if (!request.has_header("Origin")) return httplib::Server::HandlerResponse::Unhandled;
    const std::string origin = request.get_header_value("Origin");
    if (origin == "http://" + request.get_header_value("Host")) return httplib::Server::HandlerResponse::Unhandled;
    send_error(response, Error(ErrorKind::kInvalidArgument, "Origin", "cross-origin requests are not served"));
    response.status = 403;
    return httplib::Server::HandlerResponse::Handled;
  }

  void configure() {
    const unsigned threads = std::max(1u, options.threads);
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_payload_max_length(options.limits.max_request_bytes);
    http.set_keep_alive_max_count(100'000);
    // Without it, Nagle's algorithm holds an answer's last segment until the
    // client's delayed ACK: 40 ms per request.
    http.set_tcp_nodelay(true);
    http.set_default_headers({{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "no-store"}});
    http.set_pre_routing_handler(same_origin_only);
    routes();
    if (!options.web_root.empty() && !http.set_mount_point("/", options.web_root.string()))
      throw Error(ErrorKind::kNotFound, options.web_root.string(), "is not a directory (the built viewer)");
    http.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
      if (!response.body.empty()) return;
      const int status = response.status;
      send_error(response, Error(status == 404 ? ErrorKind::kNotFound : ErrorKind::kInvalidArgument,
                                 request.path.substr(0, 200), status == 404 ? "no such resource" : "bad request"));
      response.status = status;
    });
    port = options.port == 0 ? http.bind_to_any_port(options.host)
                             : (http.bind_to_port(options.host, options.port) ? options.port : -1);
    if (port < 0)
      throw Error(ErrorKind::kIo, fmt::format("{}:{}", options.host, options.port),
                  "cannot listen there (address in use?)");
  }
};

Server::Server(ServerOptions options) : state_(std::make_unique<State>(std::move(options))) { state_->configure(); }

Server::~Server() = default;

int Server::port() const { return state_->port; }

void Server::run() { state_->http.listen_after_bind(); }

void Server::stop() { state_->http.stop(); }

}  // namespace lcstore::server
