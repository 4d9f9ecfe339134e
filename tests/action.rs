//! The composite GitHub Action (`action.yml`). No runner can run it here, so this reads it as
//! the runner would (YAML), checks what GitHub requires of a composite action and what keeps it
//! safe (inputs reach scripts only through `env:`), and runs its scripts the way the runner runs
//! a `shell: bash` step (`bash --noprofile --norc -eo pipefail FILE`), with stand-ins for the
//! runner's files, against a stub and against the real binary.

mod fixture;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use fixture::ReferenceServer;
use fixture::cli::{CLEARED_ENV, ofrep, run};
use yaml_rust2::{Yaml, YamlLoader};

const INPUTS: &[&str] = &["url", "args", "junit", "artifact", "ref"];

fn action() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml");
    let text = std::fs::read_to_string(path).expect("action.yml at the repository root");
    let mut docs = YamlLoader::load_from_str(&text).expect("action.yml is YAML");
    assert_eq!(docs.len(), 1, "one document");
    docs.remove(0)
}

fn text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap()
}

fn steps(action: &Yaml) -> &[Yaml] {
    action["runs"]["steps"]
        .as_vec()
        .expect("runs.steps is a list")
}

fn step<'a>(action: &'a Yaml, id: &str) -> &'a Yaml {
    steps(action)
        .iter()
        .find(|s| s["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("a step with id {id}"))
}

fn script<'a>(action: &'a Yaml, id: &str) -> &'a str {
    step(action, id)["run"]
        .as_str()
        .unwrap_or_else(|| panic!("step {id} has a run script"))
}

/// `uses:` of the step that uses `action` (`actions/cache`), which must exist.
fn using<'a>(action: &'a Yaml, name: &str) -> &'a Yaml {
    steps(action)
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with(&format!("{name}@")))
        })
        .unwrap_or_else(|| panic!("a step uses {name}"))
}

/// Every `${{ steps.ID.outputs.NAME }}` reference in `text`, as (ID, NAME).
fn step_references(text: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("steps.") {
        rest = &rest[at + "steps.".len()..];
        let mut parts = rest.splitn(3, '.');
        if let (Some(id), Some("outputs"), Some(tail)) = (parts.next(), parts.next(), parts.next())
        {
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            found.insert((id.to_owned(), name));
        }
    }
    found
}

#[test]
fn the_action_is_a_composite_with_described_inputs_and_outputs_that_exist() {
    let action = action();
    assert!(!action["name"].as_str().unwrap_or("").is_empty());
    assert!(!action["description"].as_str().unwrap_or("").is_empty());
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let declared: BTreeSet<&str> = action["inputs"]
        .as_hash()
        .expect("inputs")
        .keys()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(declared, INPUTS.iter().copied().collect());
    for name in INPUTS {
        let input = &action["inputs"][*name];
        let description = input["description"].as_str().unwrap_or("");
        assert!(
            description.len() > 20,
            "input {name} is described: {input:?}"
        );
        assert_eq!(input["required"].as_bool(), Some(false), "input {name}");
        assert!(
            input["default"].as_str().is_some(),
            "input {name} has a default"
        );
    }
    assert_eq!(
        action["inputs"]["junit"]["default"].as_str(),
        Some("ofrep-junit.xml")
    );
    for name in ["junit", "exit-code"] {
        let output = &action["outputs"][name];
        assert!(!output["description"].as_str().unwrap_or("").is_empty());
        assert_eq!(
            output["value"].as_str(),
            Some(format!("${{{{ steps.conform.outputs.{name} }}}}").as_str())
        );
    }
    // Every step output referred to is one an earlier step writes.
    let ids: Vec<&str> = steps(&action)
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    for (id, name) in step_references(&text()) {
        assert!(ids.contains(&id.as_str()), "no step `{id}`");
        if id == "cache" {
            assert_eq!(name, "cache-hit");
            continue;
        }
        assert!(
            script(&action, &id).contains(&format!("echo \"{name}=")),
            "step {id} never writes output {name}"
        );
    }
}

#[test]
fn every_script_names_its_shell_parses_and_takes_inputs_only_through_env() {
    let action = action();
    let mut scripts = 0;
    let mut used = BTreeSet::new();
    for step in steps(&action) {
        for (_, value) in step["env"].as_hash().into_iter().flatten() {
            let value = value.as_str().unwrap_or("");
            if let Some(name) = value
                .strip_prefix("${{ inputs.")
                .and_then(|v| v.strip_suffix(" }}"))
            {
                used.insert(name.to_owned());
            }
        }
        let Some(run) = step["run"].as_str() else {
            assert!(
                step["uses"].as_str().is_some(),
                "a step runs or uses: {step:?}"
            );
            continue;
        };
        scripts += 1;
        assert_eq!(step["shell"].as_str(), Some("bash"), "{run}");
        // Expressions are expanded into the script's text before the shell sees it: an input
        // there would be code. Only `env:` may carry them.
        assert!(!run.contains("${{"), "an expression inside run:\n{run}");
        assert!(!run.contains("inputs."), "{run}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("step.sh");
        std::fs::write(&file, run).unwrap();
        let checked = Command::new("bash").arg("-n").arg(&file).output().unwrap();
        assert!(
            checked.status.success(),
            "bash -n: {}\n{run}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    assert!(scripts >= 3, "{scripts}");
    // The inputs the upload step reads in `with:`/`if:` are expressions GitHub evaluates, not
    // shell; the others each reach a script through env.
    for name in ["url", "args", "junit", "ref"] {
        assert!(
            used.contains(name),
            "input {name} is never passed to a script"
        );
    }
}

#[test]
fn the_binary_is_cached_installed_only_on_a_miss_and_the_report_always_uploaded() {
    let action = action();
    let cache = using(&action, "actions/cache");
    let paths = cache["with"]["path"].as_str().unwrap_or("");
    assert!(
        paths.contains("${{ steps.source.outputs.root }}"),
        "{paths}"
    );
    assert!(paths.contains("/registry/"), "{paths}");
    let key = cache["with"]["key"].as_str().unwrap_or("");
    assert!(
        key.contains("${{ runner.os }}") && key.contains("${{ steps.source.outputs.key }}"),
        "{key}"
    );
    let install = steps(&action)
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("cargo install"))
        })
        .expect("an install step");
    assert_eq!(
        install["if"].as_str(),
        Some("steps.cache.outputs.cache-hit != 'true'")
    );
    let command = install["run"].as_str().unwrap();
    for part in [
        "--locked",
        "--force",
        "--root \"$OFREP_ACTION_ROOT\"",
        "--path",
    ] {
        assert!(command.contains(part), "{command}");
    }
    let upload = using(&action, "actions/upload-artifact");
    assert!(
        upload["if"].as_str().unwrap_or("").starts_with("always()"),
        "{upload:?}"
    );
    assert_eq!(upload["with"]["path"].as_str(), Some("${{ inputs.junit }}"));
    // The steps come in the order they depend on each other.
    let order: Vec<usize> = ["source", "cache", "conform"]
        .iter()
        .map(|id| {
            steps(&action)
                .iter()
                .position(|s| s["id"].as_str() == Some(id))
                .unwrap()
        })
        .collect();
    assert!(order.is_sorted(), "{order:?}");
    assert!(script(&action, "conform").contains("\"$OFREP_ACTION_BIN\" conform"));
    assert!(script(&action, "conform").contains("--junit \"$OFREP_ACTION_JUNIT\""));
}

#[test]
fn every_option_the_action_passes_is_one_conform_lists_in_its_help() {
    let action = action();
    let conform = script(&action, "conform");
    let options: BTreeSet<String> = conform
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_owned)
        .collect();
    assert!(options.contains("--junit"), "{options:?}");
    let help = run(ofrep().args(["conform", "--help"]));
    assert_eq!(help.code, 0, "{}", help.stderr);
    let listed: BTreeSet<&str> = help
        .stdout
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.starts_with("--"))
        .collect();
    for option in &options {
        assert!(
            listed.contains(option.as_str()),
            "{option} is not in `ofrep conform --help`"
        );
    }
}

/// What the runner gives a step, in a temporary directory: `GITHUB_OUTPUT`, `GITHUB_PATH`,
/// `RUNNER_TEMP`, and the step's own env.
struct Step {
    dir: tempfile::TempDir,
    script: String,
    env: Vec<(String, String)>,
}

/// How a step ended and what it wrote.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: String,
    path: String,
}

impl Step {
    fn new(id: &str) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            script: script(&action(), id).to_owned(),
            env: Vec::new(),
        }
    }

    fn env(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.env.push((name.to_owned(), value.as_ref().to_owned()));
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self) -> Ran {
        let file = self.path("step.sh");
        std::fs::write(&file, &self.script).unwrap();
        let (outputs, path) = (self.path("output"), self.path("path"));
        std::fs::write(&outputs, "").unwrap();
        std::fs::write(&path, "").unwrap();
        std::fs::create_dir_all(self.path("temp")).unwrap();
        let mut cmd = Command::new("bash");
        for var in CLEARED_ENV {
            cmd.env_remove(var);
        }
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(self.path(""))
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_PATH", &path)
            .env("RUNNER_TEMP", self.path("temp"))
            .envs(self.env.iter().map(|(n, v)| (n, v)));
        let out = cmd.output().expect("bash runs");
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: std::fs::read_to_string(&outputs).unwrap(),
            path: std::fs::read_to_string(&path).unwrap(),
        }
    }
}

/// A stand-in for the binary that writes each argument it got on a line of `args` and exits 3.
fn stub(step: &Step) -> PathBuf {
    let bin = step.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("ofrep");
    let record = step.path("args");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\nexit 3\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    stub
}

fn recorded(step: &Step) -> Option<Vec<String>> {
    std::fs::read_to_string(step.path("args"))
        .ok()
        .map(|text| text.lines().map(str::to_owned).collect())
}

/// The conform step with each input as given (the runner sets an absent one to its default).
fn conform_step(url: &str, args: &str, junit: &str) -> Step {
    Step::new("conform")
        .env("OFREP_ACTION_URL", url)
        .env("OFREP_ACTION_ARGS", args)
        .env("OFREP_ACTION_JUNIT", junit)
}

#[test]
fn the_conform_script_splits_args_like_a_shell_but_expands_and_runs_nothing() {
    let step = conform_step(
        "--trigger-cmd=touch pwned-by-url",
        "--tags '@sse and not @slow' --strict\n\"a b\" $(touch pwned) `touch pwned2` $HOME * it\\'s",
        "report.xml",
    );
    let bin = stub(&step);
    let step = step.env("OFREP_ACTION_BIN", bin.display().to_string());
    let ran = step.run();
    assert_eq!(
        ran.code, 3,
        "ofrep's exit code is the step's: {}",
        ran.stderr
    );
    assert_eq!(
        recorded(&step).unwrap(),
        [
            "conform",
            "--junit",
            "report.xml",
            "--tags",
            "@sse and not @slow",
            "--strict",
            "a b",
            "$(touch",
            "pwned)",
            "`touch",
            "pwned2`",
            "$HOME",
            "*",
            "it's",
            "--",
            "--trigger-cmd=touch pwned-by-url",
        ]
    );
    for name in ["pwned", "pwned2", "pwned-by-url"] {
        assert!(!step.path(name).exists(), "{name} was created");
    }
    assert_eq!(ran.outputs, "junit=report.xml\nexit-code=3\n");
    assert_eq!(
        ran.path.trim_end(),
        bin.parent().unwrap().display().to_string()
    );

    // Empty inputs pass nothing: no URL (ofrep reads OFREP_ENDPOINT), no report.
    let step = conform_step("", " \n ", "");
    let bin = stub(&step);
    let step = step.env("OFREP_ACTION_BIN", bin.display().to_string());
    assert_eq!(step.run().code, 3);
    assert_eq!(recorded(&step).unwrap(), ["conform"]);

    // Args that do not split stop the step before ofrep runs.
    let step = conform_step("", "--tags '@sse", "report.xml");
    let bin = stub(&step);
    let step = step.env("OFREP_ACTION_BIN", bin.display().to_string());
    let ran = step.run();
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stdout
            .starts_with("::error title=ofrep action::the args input"),
        "{}",
        ran.stdout
    );
    assert_eq!(recorded(&step), None);
}

#[test]
fn the_conform_script_runs_the_real_binary_and_keeps_its_exit_code_and_report() {
    let bin = assert_cmd::cargo::cargo_bin("ofrep");
    let server = ReferenceServer::start(&["--fault", "stale-304"]);
    let args = "--color never --tags '@id:bulk-200-on-stale or @id:bulk-304-on-match'";
    let step = conform_step(&server.url, args, "ofrep-junit.xml")
        .env("OFREP_ACTION_BIN", bin.display().to_string())
        .env("GITHUB_ACTIONS", "true");
    let ran = step.run();
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("FAIL   bulk-200-on-stale"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stderr.contains("::error title=bulk-200-on-stale::"),
        "{}",
        ran.stderr
    );
    let report = std::fs::read_to_string(step.path("ofrep-junit.xml")).unwrap();
    assert!(report.contains("<testsuites") && report.contains("bulk-200-on-stale"));
    assert!(ran.outputs.ends_with("exit-code=1\n"), "{}", ran.outputs);

    let step = conform_step("", "--embedded --tags @id:bulk-304-on-match", "out/r.xml")
        .env("OFREP_ACTION_BIN", bin.display().to_string());
    std::fs::create_dir_all(step.path("out")).unwrap();
    let ran = step.run();
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(step.path("out/r.xml").exists());

    // No url and no OFREP_ENDPOINT: an error, never a check of something else.
    let step = conform_step("", "", "r.xml").env("OFREP_ACTION_BIN", bin.display().to_string());
    let ran = step.run();
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
}

/// Copies the files the source step hashes (what `cargo install` builds from) into `to`.
fn copy_build_inputs(to: &Path) {
    fn copy(from: &Path, to: &Path) {
        if from.is_dir() {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                copy(&entry.path(), &to.join(entry.file_name()));
            }
        } else {
            std::fs::copy(from, to).unwrap();
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["Cargo.toml", "Cargo.lock", "src", "scenarios"] {
        copy(&root.join(name), &to.join(name));
    }
}

#[test]
fn the_source_script_keys_the_cache_by_the_files_the_build_reads() {
    let source = tempfile::tempdir().unwrap();
    copy_build_inputs(source.path());
    let key = || {
        let step = Step::new("source")
            .env("OFREP_ACTION_REF", "")
            .env("OFREP_ACTION_REPOSITORY", "")
            .env("OFREP_ACTION_SERVER", "https://github.invalid")
            .env("GITHUB_ACTION_PATH", source.path().display().to_string())
            .env("CARGO_HOME", "")
            .env("HOME", "/home/runner");
        let ran = step.run();
        assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
        let field = |name: &str| {
            ran.outputs
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name} in {}", ran.outputs))
                .to_owned()
        };
        assert_eq!(field("dir"), source.path().display().to_string());
        assert_eq!(field("cargo-home"), "/home/runner/.cargo");
        assert!(field("root").ends_with("/temp/ofrep"), "{}", field("root"));
        field("key")
    };
    let first = key();
    assert!(
        first.starts_with("files-") && first.len() == "files-".len() + 16,
        "{first}"
    );
    assert_eq!(key(), first, "the same files, the same key");
    std::fs::create_dir_all(source.path().join("tests")).unwrap();
    std::fs::write(source.path().join("tests/new.rs"), "// not built").unwrap();
    assert_eq!(key(), first, "files the build does not read change nothing");
    std::fs::write(source.path().join("scenarios/new.feature"), "Feature: x\n").unwrap();
    assert_ne!(key(), first, "a changed build input, a new key");
}

#[test]
fn the_source_script_refuses_a_ref_that_is_not_a_plain_name() {
    for (reference, repository, why) in [
        (
            "--upload-pack=touch pwned",
            "o/ofrep",
            "must be a branch, tag or commit name",
        ),
        (
            "main;touch pwned",
            "o/ofrep",
            "must be a branch, tag or commit name",
        ),
        ("v1 v2", "o/ofrep", "must be a branch, tag or commit name"),
        ("v1.0", "", "cannot tell which repository"),
    ] {
        let step = Step::new("source")
            .env("OFREP_ACTION_REF", reference)
            .env("OFREP_ACTION_REPOSITORY", repository)
            .env("OFREP_ACTION_SERVER", "https://github.invalid")
            .env("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR"));
        let ran = step.run();
        assert_eq!(ran.code, 2, "{reference}: {}{}", ran.stdout, ran.stderr);
        assert!(
            ran.stdout.starts_with("::error title=ofrep action::") && ran.stdout.contains(why),
            "{reference}: {}",
            ran.stdout
        );
        assert!(!step.path("pwned").exists());
        assert!(ran.outputs.is_empty(), "{}", ran.outputs);
    }
}
