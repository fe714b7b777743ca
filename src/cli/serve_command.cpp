// `lcstore serve STORE`: the store's API and viewer over HTTP until Ctrl-C.
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "lcstore/server/server.h"

namespace lcstore::cli {

namespace {

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.starts_with("127.");
}

void serve(server::ServerOptions options) {
  if (options.web_root.empty() && std::filesystem::is_directory(LCSTORE_WEB_DIST)) options.web_root = LCSTORE_WEB_DIST;
  // SIGINT and SIGTERM go to one thread that stops the server; the request
  // threads, started after this, inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server::Server http(options);
  if (!is_loopback(options.host)) {
    std::fprintf(stderr, "lcstore: warning: serving on %s: anyone who can reach this address can read the store\n",
                 options.host.c_str());
  }
  const std::string host = options.host.find(':') == std::string::npos ? options.host : "[" + options.host + "]";
  std::printf("serving %s at http://%s:%d/%s (Ctrl-C stops)\n", options.store.c_str(), host.c_str(), http.port(),
              options.web_root.empty() ? " (API only: the viewer is not built)" : "");
  std::fflush(stdout);

  std::atomic<bool> stopping = false;
  std::thread watcher([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    stopping = true;
    http.stop();
  });
  http.run();
  if (!stopping) pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  std::printf("stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  static server::ServerOptions options;
  static std::string store, images, image_map, web;
  CLI::App* command = app.add_subcommand("serve", "Serve a store's light curves over HTTP: a JSON API and the viewer");
  command->footer(
      "The API is described in docs/openapi.yaml. Read-only; binds to 127.0.0.1 unless --host says otherwise.\n"
      "Examples:\n  lcstore serve demo-output/field.lcs --images demo-output/images\n"
      "  lcstore serve field.lcs --port 0   # any free port; the URL is printed");
  command->add_option("store", store, "The light-curve store")->required();
  command->add_option("--host", options.host, "Address to listen on")->capture_default_str();
  command->add_option("--port", options.port, "Port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  CLI::Option* images_option =
      command->add_option("--images", images, "Directory of coadd.fits and epoch_<key>.fits for cutouts");
  command->add_option("--image-map", image_map, "CSV of epoch,path rows (paths inside the map's directory)")
      ->excludes(images_option);
  command->add_option("--web", web, "Directory of the built viewer (default: the one built with lcstore)");
  command->add_option("--threads", options.threads, "Request threads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  command->callback([] {
    options.store = store;
    options.images = images;
    options.image_map = image_map;
    options.web_root = web;
    serve(options);
  });
}

}  // namespace lcstore::cli
