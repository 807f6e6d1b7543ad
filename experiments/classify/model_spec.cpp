#include "experiments/classify/model_spec.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "learning/surrogate_spec.hpp"
#include "sim/core/error.hpp"
#include "sim/core/plain_name.hpp"
#include "sim/io/text_file.hpp"
#include "sim/io/toml_reader.hpp"

#include "kspike_build_info.hpp"

namespace kspike::classify {

learning::spiking_lif_params spiking_lif_params_of(const neuron_spec& n) {
  learning::spiking_lif_params p;
  p.form = n.kind == neuron_kind::if_ ? learning::leak_form::none : (n.tau > 0 ? learning::leak_form::tau : learning::leak_form::beta);
  p.beta = n.beta;
  p.tau = n.tau > 0 ? n.tau : 2.0;
  p.decay_input = n.decay_input;
  p.fire = n.fire_strict ? learning::fire_rule::greater : learning::fire_rule::greater_equal;
  p.v_threshold = n.threshold;
  p.reset = n.soft_reset ? learning::lif_reset::soft : learning::lif_reset::hard;
  p.detach_reset = n.detach_reset;
  p.surrogate = learning::parse_surrogate(n.surrogate);
  p.trainable_threshold = n.trainable_threshold;
  p.trainable_beta = n.trainable_leak && n.kind == neuron_kind::lif;
  p.initial_membrane = n.initial_membrane;
  return p;
}

const char* encoding_name(encoding e) {
  switch (e) {
    case encoding::direct: return "direct";
    case encoding::poisson: return "poisson";
    case encoding::latency: return "latency";
  }
  return "?";
}

const char* neuron_name(neuron_kind k) {
  switch (k) {
    case neuron_kind::lif: return "lif";
    case neuron_kind::if_: return "if";
    case neuron_kind::mpbn: return "mpbn";
    case neuron_kind::hoyer: return "hoyer";
    case neuron_kind::relu: return "relu";
    case neuron_kind::qcfs: return "qcfs";
  }
  return "?";
}

const char* layer_name(layer_kind k) {
  switch (k) {
    case layer_kind::conv: return "conv";
    case layer_kind::linear: return "linear";
    case layer_kind::batchnorm: return "batchnorm";
    case layer_kind::avgpool: return "avgpool";
    case layer_kind::maxpool: return "maxpool";
    case layer_kind::flatten: return "flatten";
    case layer_kind::dropout: return "dropout";
    case layer_kind::spike: return "spike";
    case layer_kind::relu: return "relu";
    case layer_kind::clipped_relu: return "clipped_relu";
    case layer_kind::qcfs: return "qcfs";
  }
  return "?";
}

std::string layer_at(const model_spec& m, std::size_t i) {
  return "layers[" + std::to_string(i) + "] (" + layer_name(m.layers[i].kind) + ")";
}

std::int64_t model_spec::effective_timesteps() const {
  return (neuron.kind == neuron_kind::relu || neuron.kind == neuron_kind::hoyer || neuron.kind == neuron_kind::qcfs) ? 1 : timesteps;
}

namespace {

const std::set<std::string> neuron_keys{"kind", "beta", "tau", "decay_input", "fire", "threshold", "reset", "detach_reset", "surrogate",
                                        "trainable_threshold", "trainable_leak", "hoyer_extremum", "mpbn_statistics",
                                        "mpbn_decay", "mpbn_threshold", "levels", "initial_membrane"};

neuron_kind parse_neuron_kind(const io::toml_reader& r, const toml::node& n, const std::string& key) {
  const std::string s = r.choice(n, key, {"lif", "if", "mpbn", "hoyer", "relu", "qcfs"});
  if (s == "if") return neuron_kind::if_;
  if (s == "mpbn") return neuron_kind::mpbn;
  if (s == "hoyer") return neuron_kind::hoyer;
  if (s == "relu") return neuron_kind::relu;
  if (s == "qcfs") return neuron_kind::qcfs;
  return neuron_kind::lif;
}

// Reads the neuron keys present in t (the [neuron] table or a spike layer) over `n`.
void read_neuron(const io::toml_reader& r, const toml::table& t, const std::string& where, neuron_spec& n) {
  auto at = [&](const char* k) { return where + "." + k; };
  if (auto* v = t.get("kind")) n.kind = parse_neuron_kind(r, *v, at("kind"));
  if (auto* v = t.get("beta")) n.beta = r.number(*v, at("beta"), 0.0, 1.0);
  if (auto* v = t.get("tau")) {
    n.tau = r.number(*v, at("tau"), 0.0, 1e9);
    if (n.tau != 0 && n.tau < 1) r.fail(at("tau"), "must be >= 1 (or 0: the beta form)");
  }
  if (auto* v = t.get("decay_input")) n.decay_input = r.boolean(*v, at("decay_input"));
  if (auto* v = t.get("fire")) n.fire_strict = r.choice(*v, at("fire"), {">=", ">"}) == ">";
  if (auto* v = t.get("threshold")) {
    n.threshold = r.number(*v, at("threshold"), -1e6, 1e6);
    if (n.threshold == 0) r.fail(at("threshold"), "must not be 0");
  }
  if (auto* v = t.get("reset")) n.soft_reset = r.choice(*v, at("reset"), {"subtract", "zero"}) == "subtract";
  if (auto* v = t.get("detach_reset")) n.detach_reset = r.boolean(*v, at("detach_reset"));
  if (auto* v = t.get("surrogate")) {
    n.surrogate = r.string(*v, at("surrogate"));
    try {
      (void)learning::parse_surrogate(n.surrogate);
    } catch (const error& e) {
      r.fail(at("surrogate"), e.what());
    }
  }
  if (auto* v = t.get("trainable_threshold")) n.trainable_threshold = r.boolean(*v, at("trainable_threshold"));
  if (auto* v = t.get("trainable_leak")) n.trainable_leak = r.boolean(*v, at("trainable_leak"));
  if (auto* v = t.get("hoyer_extremum")) n.hoyer_channelwise = r.choice(*v, at("hoyer_extremum"), {"channel", "layer"}) == "channel";
  if (auto* v = t.get("mpbn_statistics")) n.mpbn_channelwise = r.choice(*v, at("mpbn_statistics"), {"channel", "element"}) == "channel";
  if (auto* v = t.get("mpbn_decay")) n.mpbn_decay = r.number(*v, at("mpbn_decay"), 0.0, 1.0);
  if (auto* v = t.get("mpbn_threshold")) n.mpbn_threshold = r.number(*v, at("mpbn_threshold"), -1e6, 1e6);
  if (auto* v = t.get("levels")) n.levels = r.integer(*v, at("levels"), 1, 1 << 16);
  if (auto* v = t.get("initial_membrane")) n.initial_membrane = r.number(*v, at("initial_membrane"), -1e6, 1e6);
}

layer_kind parse_layer_kind(const io::toml_reader& r, const toml::node& n, const std::string& key) {
  const std::string s = r.choice(
      n, key, {"conv", "linear", "batchnorm", "avgpool", "maxpool", "flatten", "dropout", "spike", "relu", "clipped_relu", "qcfs"});
  for (auto k : {layer_kind::conv, layer_kind::linear, layer_kind::batchnorm, layer_kind::avgpool, layer_kind::maxpool,
                 layer_kind::flatten, layer_kind::dropout, layer_kind::spike, layer_kind::relu, layer_kind::clipped_relu,
                 layer_kind::qcfs})
    if (s == layer_name(k)) return k;
  r.fail(key, "unknown layer type");
}

std::set<std::string> layer_keys(layer_kind k) {
  switch (k) {
    case layer_kind::conv: return {"type", "out", "kernel", "stride", "padding", "bias"};
    case layer_kind::linear: return {"type", "out", "bias"};
    case layer_kind::avgpool:
    case layer_kind::maxpool: return {"type", "size"};
    case layer_kind::dropout: return {"type", "p"};
    case layer_kind::clipped_relu: return {"type", "clip"};
    case layer_kind::qcfs: return {"type", "clip", "levels"};
    case layer_kind::spike: {
      std::set<std::string> s = neuron_keys;
      s.insert("type");
      return s;
    }
    default: return {"type"};
  }
}

std::string shape_text(std::int64_t c, std::int64_t h, std::int64_t w, bool flat) {
  if (flat) return "[" + std::to_string(c) + "]";
  return "[" + std::to_string(c) + ", " + std::to_string(h) + ", " + std::to_string(w) + "]";
}

}  // namespace

void finish_model_spec(model_spec& m) {
  io::toml_reader r;
  r.source = m.source;
  if (m.timesteps < 1) r.fail("model.timesteps", "T must be >= 1 (got " + std::to_string(m.timesteps) + ")");
  if (m.layers.empty()) r.fail("layers", "the model has no layers");
  std::int64_t c = m.in_c, h = m.in_h, w = m.in_w;
  bool flat = false;
  int spikes = 0;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    layer_spec& L = m.layers[i];
    const std::string at = layer_at(m, i);
    L.in_c = c, L.in_h = h, L.in_w = w, L.flat_in = flat;
    auto need_image = [&] {
      if (flat) r.fail(at, "needs an image [C, H, W] but gets the flat vector " + shape_text(c, h, w, flat));
    };
    switch (L.kind) {
      case layer_kind::conv: {
        need_image();
        if (h + 2 * L.padding < L.kernel || w + 2 * L.padding < L.kernel)
          r.fail(at, "kernel " + std::to_string(L.kernel) + " is larger than the padded input " + shape_text(c, h, w, flat));
        h = (h + 2 * L.padding - L.kernel) / L.stride + 1;
        w = (w + 2 * L.padding - L.kernel) / L.stride + 1;
        c = L.out;
        break;
      }
      case layer_kind::linear:
        if (!flat) r.fail(at, "gets the image " + shape_text(c, h, w, flat) + ": put a flatten layer before it");
        c = L.out;
        break;
      case layer_kind::avgpool:
      case layer_kind::maxpool:
        need_image();
        if (h < L.size || w < L.size) r.fail(at, "window " + std::to_string(L.size) + " is larger than the input " + shape_text(c, h, w, flat));
        h /= L.size;
        w /= L.size;
        break;
      case layer_kind::flatten:
        c = c * h * w;
        h = w = 1;
        flat = true;
        break;
      case layer_kind::spike:
        ++spikes;
        if (L.neuron.trainable_leak && L.neuron.tau > 0) r.fail(at, "trainable_leak needs the beta form (tau = 0)");
        if (L.neuron.kind == neuron_kind::mpbn && flat) r.fail(at, "MPBN needs an image input (channel statistics)");
        if (L.neuron.initial_membrane != 0 && !(L.neuron.kind == neuron_kind::lif || L.neuron.kind == neuron_kind::if_))
          r.fail(at + ".initial_membrane", "applies to lif and if neurons only");
        if (L.neuron.initial_membrane != 0 && !L.neuron.soft_reset)
          r.fail(at + ".initial_membrane", "needs reset = \"subtract\" (a hard reset starts at 0)");
        if (L.neuron.initial_membrane != 0 && L.neuron.trainable_threshold)
          r.fail(at + ".initial_membrane", "must be 0 with trainable_threshold (its gradient leaves it out)");
        if (L.neuron.kind == neuron_kind::qcfs && !(L.neuron.threshold > 0))
          r.fail(at + ".threshold", "QCFS's initial λ must be > 0");
        break;
      default:
        break;
    }
    L.out_c = c, L.out_h = h, L.out_w = w, L.flat_out = flat;
  }
  if (!flat || c != m.classes)
    r.fail("layers", "the last layer gives " + shape_text(c, h, w, flat) + ", expected [" + std::to_string(m.classes) +
                         "] (model.classes)");
  // Converted networks (IF neurons) may end in a spike layer: the spike-count read-out of
  // kspike convert --readout spikes. Trained ones read the output layer's value.
  if (m.layers.back().kind == layer_kind::spike && m.spiking() && m.layers.back().neuron.kind != neuron_kind::if_)
    r.fail("layers", "the last layer must not spike: the loss reads its (averaged) output");
  if (m.spiking() && spikes == 0) r.fail("layers", "no spike layer: a spiking model needs at least one");
  if (m.neuron.kind == neuron_kind::hoyer && m.input_encoding != encoding::direct)
    r.fail("model.encoding", "the one-timestep Hoyer net takes direct input");
  if (m.train.rmp_weight > 0)
    for (const auto& L : m.layers)
      if (L.kind == layer_kind::spike && L.neuron.kind != neuron_kind::lif && L.neuron.kind != neuron_kind::if_)
        r.fail("train.rmp_weight", "the RMP loss needs LIF or IF spike layers (not " + std::string(neuron_name(L.neuron.kind)) + ")");
  if (m.train.hoyer_weight > 0 && m.neuron.kind != neuron_kind::hoyer)
    r.fail("train.hoyer_weight", "the Hoyer regulariser needs hoyer spike layers ([neuron] kind = \"hoyer\")");
}

model_spec parse_model_spec(const std::string& text, const std::string& source) {
  io::toml_reader r;
  r.source = source;
  const toml::table root = io::parse_toml(text, source);
  const std::string help = "see docs/training.md, Model files";
  r.check_keys(root, "", {"model", "neuron", "layers", "train"}, help);
  model_spec m;
  m.source = source;
  m.text = text;
  m.name = std::filesystem::path(source).stem().string();

  if (const auto* t = r.table(root, "model", {"name", "input", "classes", "timesteps", "encoding", "poisson_max_rate", "loss"}, help)) {
    r.get(t, "model", "name", [&](const toml::node& n, const std::string& k) { m.name = r.string(n, k); });
    r.get(t, "model", "input", [&](const toml::node& n, const std::string& k) {
      const toml::array* a = n.as_array();
      if (!a || a->size() != 3) r.fail(k, "must be [channels, height, width]");
      m.in_c = r.integer(*a->get(0), k + "[0]", 1, 4096);
      m.in_h = r.integer(*a->get(1), k + "[1]", 1, 4096);
      m.in_w = r.integer(*a->get(2), k + "[2]", 1, 4096);
    });
    r.get(t, "model", "classes", [&](const toml::node& n, const std::string& k) { m.classes = r.integer(n, k, 2, 100000); });
    r.get(t, "model", "timesteps", [&](const toml::node& n, const std::string& k) { m.timesteps = r.integer(n, k, 1, 10000); });
    r.get(t, "model", "encoding", [&](const toml::node& n, const std::string& k) {
      const std::string s = r.choice(n, k, {"direct", "poisson", "latency"});
      m.input_encoding = s == "poisson" ? encoding::poisson : (s == "latency" ? encoding::latency : encoding::direct);
    });
    r.get(t, "model", "poisson_max_rate", [&](const toml::node& n, const std::string& k) { m.poisson_max_rate = r.number(n, k, 0.0, 1.0); });
    r.get(t, "model", "loss", [&](const toml::node& n, const std::string& k) {
      const std::string s = r.choice(n, k, {"ce_mean", "ce_membrane", "mse_mean"});
      m.loss = s == "ce_membrane" ? loss_kind::ce_membrane : (s == "mse_mean" ? loss_kind::mse_mean : loss_kind::ce_mean);
    });
  }
  // It names the default output folder and titles the plots.
  if (const std::string why = plain_name_problem(m.name); !why.empty())
    r.fail("model.name", "the model's name " + why + " (it is the file's name unless [model] name is given)");
  if (const auto* t = r.table(root, "neuron", neuron_keys, help)) read_neuron(r, *t, "neuron", m.neuron);

  const toml::node* layers = root.get("layers");
  if (!layers) r.fail("layers", "missing (an array of tables: [[layers]] type = \"conv\" ...)");
  const toml::array* la = layers->as_array();
  if (!la) r.fail("layers", "must be an array of tables ([[layers]])");
  for (std::size_t i = 0; i < la->size(); ++i) {
    const std::string at = "layers[" + std::to_string(i) + "]";
    const toml::table* lt = la->get(i)->as_table();
    if (!lt) r.fail(at, "must be a table");
    const toml::node* type = lt->get("type");
    if (!type) r.fail(at + ".type", "missing");
    layer_spec L;
    L.kind = parse_layer_kind(r, *type, at + ".type");
    r.check_keys(*lt, at, layer_keys(L.kind), help);
    r.get(lt, at, "out", [&](const toml::node& n, const std::string& k) { L.out = r.integer(n, k, 1, 1 << 20); });
    r.get(lt, at, "kernel", [&](const toml::node& n, const std::string& k) { L.kernel = r.integer(n, k, 1, 64); });
    r.get(lt, at, "stride", [&](const toml::node& n, const std::string& k) { L.stride = r.integer(n, k, 1, 64); });
    r.get(lt, at, "padding", [&](const toml::node& n, const std::string& k) { L.padding = r.integer(n, k, 0, 64); });
    r.get(lt, at, "bias", [&](const toml::node& n, const std::string& k) { L.bias = r.boolean(n, k); });
    r.get(lt, at, "size", [&](const toml::node& n, const std::string& k) { L.size = r.integer(n, k, 1, 64); });
    r.get(lt, at, "p", [&](const toml::node& n, const std::string& k) {
      L.p = r.number(n, k, 0.0, 1.0);
      if (L.p >= 1.0) r.fail(k, "must be below 1");
    });
    r.get(lt, at, "clip", [&](const toml::node& n, const std::string& k) {
      L.clip = r.number(n, k, 0.0, 1e6);
      if (L.clip <= 0) r.fail(k, "must be > 0");
    });
    r.get(lt, at, "levels", [&](const toml::node& n, const std::string& k) { L.levels = r.integer(n, k, 1, 1 << 16); });
    if ((L.kind == layer_kind::conv || L.kind == layer_kind::linear) && L.out == 0) r.fail(at + ".out", "missing");
    if (L.kind == layer_kind::spike) {
      L.neuron = m.neuron;
      read_neuron(r, *lt, at, L.neuron);
    }
    m.layers.push_back(L);
  }

  if (const auto* t = r.table(root, "train",
                              {"optimizer", "lr", "momentum", "nesterov", "weight_decay", "no_weight_decay", "amsgrad",
                               "schedule", "milestones", "gamma", "batch", "epochs", "hoyer_weight", "rmp_weight", "rmp_schedule"},
                              help)) {
    train_spec& s = m.train;
    r.get(t, "train", "optimizer", [&](const toml::node& n, const std::string& k) { s.optimizer = r.choice(n, k, {"adam", "adamw", "sgd"}); });
    r.get(t, "train", "lr", [&](const toml::node& n, const std::string& k) { s.lr = r.number(n, k, 0.0, 100.0); });
    r.get(t, "train", "momentum", [&](const toml::node& n, const std::string& k) { s.momentum = r.number(n, k, 0.0, 1.0); });
    r.get(t, "train", "nesterov", [&](const toml::node& n, const std::string& k) { s.nesterov = r.boolean(n, k); });
    r.get(t, "train", "weight_decay", [&](const toml::node& n, const std::string& k) { s.weight_decay = r.number(n, k, 0.0, 1.0); });
    r.get(t, "train", "no_weight_decay", [&](const toml::node& n, const std::string& k) {
      const toml::array* a = n.as_array();
      if (!a) r.fail(k, "must be an array of parameter-name parts, e.g. [\"threshold\", \"batchnorm\"]");
      s.no_weight_decay.clear();
      for (std::size_t j = 0; j < a->size(); ++j) s.no_weight_decay.push_back(r.string(*a->get(j), k + "[" + std::to_string(j) + "]"));
    });
    r.get(t, "train", "amsgrad", [&](const toml::node& n, const std::string& k) { s.amsgrad = r.boolean(n, k); });
    r.get(t, "train", "schedule", [&](const toml::node& n, const std::string& k) { s.schedule = r.choice(n, k, {"cosine", "step", "constant"}); });
    r.get(t, "train", "milestones", [&](const toml::node& n, const std::string& k) {
      const toml::array* a = n.as_array();
      if (!a) r.fail(k, "must be an array of fractions of the epochs, e.g. [0.6, 0.8, 0.9]");
      s.milestones.clear();
      for (std::size_t j = 0; j < a->size(); ++j) s.milestones.push_back(r.number(*a->get(j), k + "[" + std::to_string(j) + "]", 0.0, 1.0));
    });
    r.get(t, "train", "gamma", [&](const toml::node& n, const std::string& k) { s.gamma = r.number(n, k, 0.0, 1.0); });
    r.get(t, "train", "batch", [&](const toml::node& n, const std::string& k) { s.batch = r.integer(n, k, 2, 1 << 16); });
    r.get(t, "train", "epochs", [&](const toml::node& n, const std::string& k) { s.epochs = r.integer(n, k, 1, 100000); });
    r.get(t, "train", "hoyer_weight", [&](const toml::node& n, const std::string& k) { s.hoyer_weight = r.number(n, k, 0.0, 1e6); });
    r.get(t, "train", "rmp_weight", [&](const toml::node& n, const std::string& k) { s.rmp_weight = r.number(n, k, 0.0, 1e6); });
    r.get(t, "train", "rmp_schedule", [&](const toml::node& n, const std::string& k) { s.rmp_schedule = r.choice(n, k, {"constant", "linear"}); });
  }
  finish_model_spec(m);
  return m;
}

namespace {

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  std::string s = b;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // stays a TOML float
  return s;
}
// A TOML basic string: quotes, backslashes and control characters escaped, so that any name a
// model file can hold survives the canonical round trip (found by fuzz_model_toml).
std::string quoted(const std::string& s) {
  std::string o = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c < 0x20 || c == 0x7F) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04X", c);
      o += b;
    } else {
      o += ch;
    }
  }
  return o + "\"";
}
const char* tf(bool b) { return b ? "true" : "false"; }

void write_neuron(std::ostringstream& o, const neuron_spec& n) {
  o << "kind = " << quoted(neuron_name(n.kind)) << "\nbeta = " << num(n.beta) << "\ntau = " << num(n.tau)
    << "\ndecay_input = " << tf(n.decay_input) << "\nfire = " << quoted(n.fire_strict ? ">" : ">=") << "\nthreshold = " << num(n.threshold)
    << "\nreset = " << quoted(n.soft_reset ? "subtract" : "zero") << "\ndetach_reset = " << tf(n.detach_reset)
    << "\nsurrogate = " << quoted(n.surrogate) << "\ntrainable_threshold = " << tf(n.trainable_threshold)
    << "\ntrainable_leak = " << tf(n.trainable_leak) << "\nhoyer_extremum = " << quoted(n.hoyer_channelwise ? "channel" : "layer")
    << "\nmpbn_statistics = " << quoted(n.mpbn_channelwise ? "channel" : "element") << "\nmpbn_decay = " << num(n.mpbn_decay)
    << "\nmpbn_threshold = " << num(n.mpbn_threshold) << "\nlevels = " << n.levels
    << "\ninitial_membrane = " << num(n.initial_membrane) << "\n";
}

}  // namespace

std::string to_toml(const model_spec& m, bool with_train) {
  std::ostringstream o;
  const char* loss[] = {"ce_mean", "ce_membrane", "mse_mean"};
  o << "[model]\nname = " << quoted(m.name) << "\ninput = [" << m.in_c << ", " << m.in_h << ", " << m.in_w
    << "]\nclasses = " << m.classes << "\ntimesteps = " << m.timesteps << "\nencoding = "
    << quoted(encoding_name(m.input_encoding)) << "\npoisson_max_rate = " << num(m.poisson_max_rate)
    << "\nloss = " << quoted(loss[static_cast<int>(m.loss)]) << "\n\n[neuron]\n";
  write_neuron(o, m.neuron);
  for (const auto& L : m.layers) {
    o << "\n[[layers]]\ntype = " << quoted(layer_name(L.kind)) << "\n";
    switch (L.kind) {
      case layer_kind::conv:
        o << "out = " << L.out << "\nkernel = " << L.kernel << "\nstride = " << L.stride << "\npadding = " << L.padding
          << "\nbias = " << tf(L.bias) << "\n";
        break;
      case layer_kind::linear: o << "out = " << L.out << "\nbias = " << tf(L.bias) << "\n"; break;
      case layer_kind::avgpool:
      case layer_kind::maxpool: o << "size = " << L.size << "\n"; break;
      case layer_kind::dropout: o << "p = " << num(L.p) << "\n"; break;
      case layer_kind::clipped_relu: o << "clip = " << num(L.clip) << "\n"; break;
      case layer_kind::qcfs: o << "clip = " << num(L.clip) << "\nlevels = " << L.levels << "\n"; break;
      case layer_kind::spike: write_neuron(o, L.neuron); break;
      default: break;
    }
  }
  if (with_train) {
    const train_spec& t = m.train;
    o << "\n[train]\noptimizer = " << quoted(t.optimizer) << "\nlr = " << num(t.lr) << "\nmomentum = " << num(t.momentum)
      << "\nnesterov = " << tf(t.nesterov) << "\nweight_decay = " << num(t.weight_decay)
      << "\nno_weight_decay = [";
    for (std::size_t i = 0; i < t.no_weight_decay.size(); ++i) o << (i ? ", " : "") << quoted(t.no_weight_decay[i]);
    o << "]\namsgrad = " << tf(t.amsgrad)
      << "\nschedule = " << quoted(t.schedule) << "\nmilestones = [";
    for (std::size_t i = 0; i < t.milestones.size(); ++i) o << (i ? ", " : "") << num(t.milestones[i]);
    o << "]\ngamma = " << num(t.gamma) << "\nbatch = " << t.batch << "\nepochs = " << t.epochs
      << "\nhoyer_weight = " << num(t.hoyer_weight) << "\nrmp_weight = " << num(t.rmp_weight)
      << "\nrmp_schedule = " << quoted(t.rmp_schedule) << "\n";
  }
  return o.str();
}

namespace {

// Where presets live: KSPIKE_MODELS, else the source tree's experiments/models.
std::string models_dir() {
  const char* env = std::getenv("KSPIKE_MODELS");
  return env && *env ? env : KSPIKE_MODELS_DIR;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(models_dir(), ec))
    if (e.path().extension() == ".toml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

model_spec load_model_spec(const std::string& name_or_path) {
  std::string path = name_or_path;
  if (!std::filesystem::is_regular_file(path)) {
    path = (std::filesystem::path(models_dir()) / (name_or_path + ".toml")).string();
    if (name_or_path.find('/') != std::string::npos || name_or_path.find(".toml") != std::string::npos ||
        !std::filesystem::is_regular_file(path)) {
      std::string list;
      for (const auto& p : preset_names()) list += (list.empty() ? "" : ", ") + p;
      throw error("--model: '" + name_or_path + "' is neither a model file nor a preset (" + list + ")");
    }
  }
  return parse_model_spec(io::read_text_file(path), path);
}

}  // namespace kspike::classify
