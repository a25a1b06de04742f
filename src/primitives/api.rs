//! Registration of documented host functions.
//!
//! A module's functions are declared once, with [`api_module!`]: the `///` comment above each
//! becomes its reference text (`wego docs api`, the REPL's `:doc`), and its parameter names,
//! types and return type come from the declaration itself.

use rhai::{
    Dynamic, FnNamespace, FuncRegistration, Module, NativeCallContext, RhaiFunc, RhaiNativeFunc, Shared, Variant,
};

/// Build a documented Rhai [`Module`] from declarations.
///
/// ```text
/// api_module! {
///     let h = host;              // optional: each body sees the `&Arc<Host>` as `h`
///     //! What the module is for (the module's doc).
///
///     /// Summary line. Lines of a paragraph are joined; a blank `///` starts a new paragraph
///     /// and a line ending in `\` keeps its line break.
///     ///
///     /// Example: `git::clone(url)`
///     fn clone(url: &str, #[optional] options: Map) -> Repo { clone(h, url, &options) }
///
///     /// Callable as `repo.path()`.
///     method path(repo: &mut Repo) -> String { Ok(repo.dir().display().to_string()) }
/// }
/// ```
///
/// A function that calls back into the script (a closure it was given) starts with
/// `#[context] ctx,`: the call's `NativeCallContext`, which is not a parameter scripts see.
/// Every body returns `Result<Ret, Box<EvalAltResult>>`. A trailing `#[optional]` parameter
/// registers the function twice, with and without it; without it, it is `Default::default()`
/// (an empty map for `Map`). `fn a | b(..)` registers the same function under both names
/// (`to_string | to_debug`). A doc line may also be `#[doc = CONSTANT]`, to share a paragraph.
macro_rules! api_module {
    (@names $m:ident, $hdr:tt, $kind:ident, [$($n:ident),+], $docs:tt, $cx:tt, $params:tt, $opt:tt, $ret:ty,
        $body:block) => {
        $($crate::primitives::api::api_module!(@one $m, $hdr, $kind, $n, $docs, $cx, $params, $opt, $ret, $body);)+
    };
    (@one $m:ident, $hdr:tt, $kind:ident, $name:ident, $docs:tt, $cx:tt, $params:tt, [], $ret:ty, $body:block) => {
        $crate::primitives::api::api_module!(@reg $m, $hdr, $kind, $name, $docs, $cx, $params, [], $ret, $body);
    };
    (@one $m:ident, $hdr:tt, $kind:ident, $name:ident, $docs:tt, $cx:tt, [$($p:ident: $t:ty),*],
        [$o:ident: $ot:ty], $ret:ty, $body:block) => {
        $crate::primitives::api::api_module!(
            @reg $m, $hdr, $kind, $name, $docs, $cx, [$($p: $t,)* $o: $ot], [], $ret, $body
        );
        $crate::primitives::api::api_module!(
            @reg $m, $hdr, $kind, $name, $docs, $cx, [$($p: $t),*], [let $o: $ot = Default::default();], $ret, $body
        );
    };
    (@reg $m:ident, [$($h:ident $host:ident)?], $kind:ident, $name:ident, [$($doc:expr),*], [$($c:ident)?],
        [$($p:ident: $t:ty),*], [$($pre:tt)*], $ret:ty, $body:block) => {{
        $(let $h = ::std::sync::Arc::clone($host);)?
        $m.register(
            stringify!($name),
            &[$(concat!(stringify!($p), ": ", stringify!($t)),)* stringify!($ret)],
            &[$($doc),*],
            $crate::primitives::api::api_module!(@namespace $kind),
            move |$($c: ::rhai::NativeCallContext,)? $($p: $t),*|
                -> ::std::result::Result<$ret, ::std::boxed::Box<::rhai::EvalAltResult>> {
                $(#[allow(unused_variables)] let $h = &$h;)?
                $($pre)*
                $body
            },
        );
    }};
    (@namespace fn) => {
        ::rhai::FnNamespace::Internal
    };
    // A method is callable as `value.name(..)` from anywhere, without the module's prefix.
    (@namespace method) => {
        ::rhai::FnNamespace::Global
    };
    (@module $hdr:tt $(#![doc = $mdoc:expr])*
        $($(#[doc = $doc:expr])* $kind:ident $name:ident $(| $alias:ident)*
            ($(#[context] $c:ident,)? $($p:ident: $t:ty),* $(, #[optional] $o:ident: $ot:ty)?) -> $ret:ty
            $body:block)*) => {{
        let mut m = $crate::primitives::api::ApiModule::new(&[$($mdoc),*]);
        $($crate::primitives::api::api_module!(
            @names m, $hdr, $kind, [$name $(, $alias)*], [$($doc),*], [$($c)?], [$($p: $t),*], [$($o: $ot)?], $ret,
            $body
        );)*
        m.build()
    }};
    (let $h:ident = $host:ident; $($rest:tt)*) => {
        $crate::primitives::api::api_module!(@module [$h $host] $($rest)*)
    };
    ($($rest:tt)*) => {
        $crate::primitives::api::api_module!(@module [] $($rest)*)
    };
}
pub(crate) use api_module;

/// A Rhai module under construction, e.g. `kube`.
pub struct ApiModule {
    module: Module,
}

impl ApiModule {
    pub fn new(doc: &[&str]) -> Self {
        let mut module = Module::new();
        module.set_doc(joined(doc));
        ApiModule { module }
    }

    /// Register `name` with `params` (`"name: Type"`, the last entry the return type), `doc`
    /// (the lines of its doc comment) and `ns` (methods are global).
    pub fn register<A: 'static, const N: usize, const X: bool, R: Variant + Clone, const F: bool, FUNC>(
        &mut self,
        name: &str,
        params: &[&str],
        doc: &[&str],
        ns: FnNamespace,
        f: FUNC,
    ) -> &mut Self
    where
        FUNC: RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
    {
        let comment = joined(doc).lines().map(|l| format!("/// {l}").trim_end().to_string()).collect::<Vec<_>>();
        let types = FUNC::param_types();
        let func = with_call_position(f.into_rhai_function(false, true));
        FuncRegistration::new(name)
            .with_namespace(ns)
            .with_params_info(params)
            .with_comments([comment.join("\n")])
            .set_into_module_raw(&mut self.module, types, func);
        self
    }

    pub fn build(self) -> Module {
        self.module
    }
}

/// The text of a doc comment given line by line (each line as rustc hands it over, after
/// `///`): the lines of a paragraph are joined with a space, a blank line separates
/// paragraphs, and a line ending in `\` keeps its line break (Markdown's hard break).
fn joined(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut sep = "";
    for line in lines.iter().flat_map(|l| l.split('\n')) {
        let line = line.strip_prefix(' ').unwrap_or(line);
        if line.trim().is_empty() {
            sep = "\n\n";
            continue;
        }
        let (text, hard) = match line.strip_suffix('\\') {
            Some(t) => (t, true),
            None => (line, false),
        };
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(text);
        sep = if hard { "\n" } else { " " };
    }
    out
}

/// The shape of a registered native function, as Rhai stores it.
type HostFn =
    dyn Fn(Option<NativeCallContext>, &mut [&mut Dynamic]) -> Result<Dynamic, Box<rhai::EvalAltResult>> + Send + Sync;

/// Errors raised by host functions carry no position; give them the call site's, so a
/// diagnostic can point at the line of the script that called the failing primitive.
fn with_call_position(f: RhaiFunc) -> RhaiFunc {
    let wrap = |func: Shared<HostFn>| {
        let wrapped = move |ctx: Option<NativeCallContext>, args: &mut [&mut Dynamic]| {
            let pos = ctx.as_ref().map(NativeCallContext::call_position);
            func(ctx, args).map_err(|mut e| {
                if let (Some(p), true) = (pos, e.position().is_none()) {
                    e.set_position(p);
                }
                e
            })
        };
        Shared::new(wrapped) as Shared<HostFn>
    };
    match f {
        RhaiFunc::Pure { func, is_pure, is_volatile, .. } => {
            RhaiFunc::Pure { func: wrap(func), has_context: true, is_pure, is_volatile }
        }
        RhaiFunc::Method { func, is_pure, is_volatile, .. } => {
            RhaiFunc::Method { func: wrap(func), has_context: true, is_pure, is_volatile }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::joined;

    #[test]
    fn doc_lines_join_into_paragraphs() {
        let lines = [" Summary that", " goes on.\\", " Next line.", "", " Example: `x`"];
        assert_eq!(joined(&lines), "Summary that goes on.\nNext line.\n\nExample: `x`");
    }
}
