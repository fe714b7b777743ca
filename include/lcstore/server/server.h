// `lcstore serve`: a read-only HTTP server of one light-curve store.
//
// It serves a JSON API (documented in docs/openapi.yaml) and, when given a
// directory, the browser viewer's files. The store is opened once and
// shared by every request thread; it is opened again when its root
// metadata changes (a rechunk or a new epoch), so a reload in the browser
// shows the new layout, while values written by a populate beside the
// server are read as they land.
//
// Safety: it never writes; images are read only from the configured
// directory (no path escapes); query sizes and result sizes are bounded
// (Limits); no cross-origin headers are sent, so other sites' pages cannot
// read its answers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace lcstore::server {

// The bounds on one request's work and answer.
struct Limits {
  uint64_t max_page = 10'000;             // objects in one page of /api/objects or /api/epoch
  uint64_t max_curves = 200;              // objects in one /api/lightcurves or /api/export
  uint64_t max_ids = 10'000;              // ids in one /api/objects?ids= list
  uint32_t max_cutout_pixels = 1024;      // side of a cutout
  uint64_t max_request_bytes = 16 << 10;  // request body (the API is GET only)
};

struct ServerOptions {
  std::filesystem::path store;
  std::string host = "127.0.0.1";
  int port = 8050;  // 0: any free port (Server::port() tells which)
  // Where cutouts read their FITS files: `images` holds coadd.fits and
  // epoch_<key>.fits as `lcstore simulate` writes them; `image_map` is a CSV
  // file of `epoch,path` rows (`coadd` for the coadd) with paths relative to
  // the map's directory, which they must stay within. Both empty: no images.
  std::filesystem::path images;
  std::filesystem::path image_map;
  // The built viewer (web/dist) served at /; empty: the API only.
  std::filesystem::path web_root;
  unsigned threads = 64;  // request threads (each keep-alive client holds one)
  Limits limits;
};

class Server {
 public:
  // Opens the store and binds the socket; throws lcstore::Error when the
  // store cannot be opened, the image options are wrong or the address is
  // taken.
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // Serves until stop() is called (from any thread or a signal handler's
  // watcher thread).
  void run();
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace lcstore::server
