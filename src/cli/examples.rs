//! The Examples section of each command's `--help`, in the style of kubectl and flux: a
//! comment saying what the line is for, then the line.

pub const WEGO: &str = "\
Examples:
  # Install the GitOps runtime, add an app, and watch it being delivered
  wego install | kubectl apply -f -
  wego add --url https://github.com/acme/podinfo --path ./deploy
  wego status

  # Every command is a script: see them, and override one
  wego scripts list
  wego scripts eject status";

pub const INSTALL: &str = "\
Examples:
  # Print the runtime and apply it (deterministic: re-applying changes nothing)
  wego install | kubectl apply -f -

  # Apply it with server-side apply instead
  wego install --apply

  # Another namespace, extra controllers, images from a mirror
  wego install -n gitops --components-extra image-reflector-controller --registry registry.example.com/fluxcd

  # Air-gapped: a Flux release manifest from a file
  wego install --flux-manifests ./install.yaml --offline";

pub const ADD: &str = "\
Examples:
  # The app repo is this work tree's origin; opens a pull request on the wego repo
  cd podinfo && wego add --path ./deploy

  # By URL, into a given wego repo, committing straight to its default branch
  wego add --url https://github.com/acme/podinfo --path ./deploy --app-config-url https://github.com/acme/fleet --auto-merge

  # A chart from a Helm repository
  wego add --chart redis --helm-repo-url https://charts.example.com --chart-version 17.3.2 --target-namespace cache

  # See the files, objects and pull request first
  wego add --url https://github.com/acme/podinfo --dry-run

Environment:
  GITHUB_TOKEN     token for GitHub hosts: the API (repos, pull requests, deploy keys) and git over https
  GITLAB_TOKEN     token for GitLab hosts: the API (projects, merge requests, deploy keys) and git over https
  WEGO_GIT_TOKEN   token for git over https to any other host
  SSH_AUTH_SOCK    the ssh-agent used for ssh URLs (else --private-key, else ~/.ssh/id_*)
  WEGO_KNOWN_HOSTS known_hosts file checked for ssh URLs (default: ~/.ssh/known_hosts)";

pub const STATUS: &str = "\
Examples:
  # The runtime's health and every app on this cluster
  wego status

  # One app
  wego status podinfo

  # As JSON (schema: docs/status.schema.json), for scripts
  wego status -o json";

pub const VERSION: &str = "\
Examples:
  wego version
  wego version -o json";

pub const RUN: &str = "\
Examples:
  # Run a script; the words after it are its `args`
  wego run ./rotate-keys.rhai prod --force

  # A script that runs external programs
  wego run --allow-exec ./bootstrap.rhai";

pub const TEST: &str = "\
Examples:
  # The stdlib's own tests, against the stdlib in effect (your overrides included)
  wego test

  # A team's tests in its wego repo, then accept the golden files they write
  wego test .wego/tests
  wego test --update .wego/tests

  # Only the tests whose name contains `branch`
  wego test --filter branch";

pub const REPL: &str = "\
Examples:
  # Explore the API interactively (:help, :functions kube, :doc kube::apply)
  wego repl

  # Evaluate a script from stdin
  echo 'print(wego::info().version)' | wego repl";

pub const SCRIPTS: &str = "\
Examples:
  # Every script and stdlib module, with the layer it comes from
  wego scripts list

  # The text of the status command, and of a stdlib module
  wego scripts show status
  wego scripts show wego/apps

  # Copy the built-in status script where an override takes effect, then edit it
  $EDITOR \"$(wego scripts eject status)\"";

pub const TEMPLATES: &str = "\
Examples:
  wego templates list
  wego templates show wego/app.yaml.j2
  $EDITOR \"$(wego templates eject wego/app.yaml.j2)\"";

pub const CONFIG: &str = "\
Examples:
  # Every key with its value and the layer it comes from
  wego config view

  # The effective config as YAML or JSON
  wego config view -o yaml

  # The files searched, in order of precedence
  wego config path";

pub const DOCS: &str = "\
Examples:
  wego docs api > docs/api.md
  wego docs man | man -l -";

pub const COMPLETION: &str = "\
Examples:
  # bash: add to ~/.bashrc (the code asks wego for candidates, so it follows upgrades)
  source <(wego completion bash)

  # zsh: add to ~/.zshrc
  source <(wego completion zsh)

  # fish: add to ~/.config/fish/config.fish
  wego completion fish | source";
