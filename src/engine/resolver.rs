//! `import "wego/naming"` and `import "./helpers"`, resolved through the layers.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};

use super::diagnostics::Diagnostic;
use super::layers::{Kind, Resolved};
use super::Host;

pub struct LayeredResolver {
    host: Arc<Host>,
    cache: Mutex<HashMap<String, Shared<Module>>>,
}

impl LayeredResolver {
    pub fn new(host: Arc<Host>) -> Self {
        LayeredResolver { host, cache: Mutex::new(HashMap::new()) }
    }

    fn find(&self, source: Option<&str>, path: &str) -> Result<Option<Resolved>, String> {
        if let Some(name) = path.strip_prefix("wego/") {
            return self.host.layers.resolve(Kind::Stdlib, name).map_err(|e| e.to_string());
        }
        // A relative import: next to the importing file, never above it.
        let rel = Path::new(path);
        if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(format!("import `{path}` must be a relative path below the importing script"));
        }
        // Built-ins import by `wego/` name only; a file that happens to sit at a built-in's
        // display path in the current directory must not be taken as its neighbour.
        if source.is_some_and(|s| self.host.layers.is_builtin_display(s)) {
            return Err(format!("import `{path}`: built-in scripts import `wego/` modules only"));
        }
        let base = source
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| std::env::current_dir().unwrap_or_default());
        let mut file = base.join(rel);
        if file.extension().is_none() {
            file.set_extension("rhai");
        }
        if !file.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
        Ok(Some(Resolved {
            name: path.to_string(),
            layer: super::layers::Layer::Explicit,
            display: file.display().to_string(),
            path: Some(file),
            text,
        }))
    }
}

impl ModuleResolver for LayeredResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let found = self
            .find(source, path)
            .map_err(|e| {
                let mut err = Diagnostic::new(format!("import: {e}")).raise();
                err.set_position(pos);
                err
            })?
            .ok_or_else(|| Box::new(EvalAltResult::ErrorModuleNotFound(path.to_string(), pos)))?;
        if let Some(m) = self.cache.lock().expect("module cache").get(&found.display) {
            return Ok(m.clone());
        }
        self.host.sources.remember_source(&found.display, &found.text);
        self.host.sources.remember_module(path, &found.display);
        let mut ast = engine.compile(&found.text).map_err(|e| {
            Box::new(EvalAltResult::ErrorInModule(
                path.to_string(),
                Box::new(EvalAltResult::ErrorParsing(*e.0, e.1)),
                pos,
            ))
        })?;
        ast.set_source(found.display.as_str());
        super::coverage::compiled(&ast);
        let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(path.to_string(), e, pos)))?;
        let module: Shared<Module> = module.into();
        self.cache.lock().expect("module cache").insert(found.display, module.clone());
        Ok(module)
    }
}
