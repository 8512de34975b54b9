// SPDX-License-Identifier: Apache-2.0
// Bash and zsh completion scripts built from the command definitions (see completion.h).
// The bash script finds the command path among the words typed so far and offers that
// command's subcommands and options; zsh loads the same function through bashcompinit.
#include "cli/completion.h"

#include <string>
#include <vector>

namespace cloudkv::cli {
namespace {

// The long and short names of an app's options ("--prefix --limit ... --help").
std::string OptionWords(const CLI::App& app) {
  std::string words;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) words += " --" + name;
    for (const std::string& name : option->get_snames()) words += " -" + name;
  }
  return words;
}

std::string SubcommandWords(const CLI::App& app) {
  std::string words;
  for (const CLI::App* sub : app.get_subcommands({})) words += " " + sub->get_name();
  return words;
}

// One `case` arm per command path ("", "inspect", "inspect sst", ...).
void AddCases(const CLI::App& app, const std::string& path, std::string* out) {
  *out += "    \"" + path + "\") words=\"" + SubcommandWords(app) + OptionWords(app) + "\" ;;\n";
  for (const CLI::App* sub : app.get_subcommands({})) {
    AddCases(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
  }
}

// Every command path, for recognising where the typed words stop naming commands.
void AddPaths(const CLI::App& app, const std::string& path, std::vector<std::string>* out) {
  for (const CLI::App* sub : app.get_subcommands({})) {
    std::string p = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    out->push_back(p);
    AddPaths(*sub, p, out);
  }
}

}  // namespace

std::string CompletionScript(const CLI::App& app, const std::string& shell) {
  std::vector<std::string> paths;
  AddPaths(app, "", &paths);
  std::string known;
  for (const std::string& p : paths) known += " \"" + p + "\"";
  std::string script;
  if (shell == "zsh") {
    script += "#compdef cloudkv\n# cloudkv completion for zsh (through bash completion).\n";
    script += "autoload -U +X bashcompinit && bashcompinit\n";
  } else {
    script += "# cloudkv completion for bash: source <(cloudkv completion bash)\n";
  }
  script += "_cloudkv() {\n";
  script += "  local cur=${COMP_WORDS[COMP_CWORD]} path=\"\" word candidate words\n";
  script += "  local -a known=(" + known + " )\n";
  script += "  for ((i = 1; i < COMP_CWORD; i++)); do\n";
  script += "    word=${COMP_WORDS[i]}\n";
  script += "    candidate=${path:+$path }$word\n";
  script += "    for k in \"${known[@]}\"; do\n";
  script += "      if [[ $k == \"$candidate\" ]]; then path=$candidate; break; fi\n";
  script += "    done\n";
  script += "  done\n";
  script += "  case \"$path\" in\n";
  AddCases(app, "", &script);
  script += "    *) words=\"\" ;;\n";
  script += "  esac\n";
  script += "  if [[ $cur == -* || -n $words && $cur != */* ]]; then\n";
  script += "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n";
  script += "  fi\n";
  script += "  if [[ ${#COMPREPLY[@]} -eq 0 ]]; then COMPREPLY=($(compgen -f -- \"$cur\")); fi\n";
  script += "}\n";
  script += "complete -F _cloudkv cloudkv\n";
  return script;
}

}  // namespace cloudkv::cli
