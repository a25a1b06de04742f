//! Registration of documented host functions.
//!
//! Every function exposed to scripts goes through [`ApiModule::func`], which insists on a
//! parameter list and a doc comment, so `wego docs api` and the REPL always have something
//! true to show.

use rhai::{
    Dynamic, FnNamespace, FuncRegistration, Module, NativeCallContext, RhaiFunc, RhaiNativeFunc, Shared, Variant,
};

/// A Rhai module under construction, e.g. `kube`.
pub struct ApiModule {
    module: Module,
}

impl ApiModule {
    pub fn new(doc: &str) -> Self {
        let mut module = Module::new();
        module.set_doc(doc);
        ApiModule { module }
    }

    /// Register `name` with `params` (`"name: Type"`, the last entry the return type) and
    /// `doc` (plain text: summary line, details, and an example).
    pub fn func<A: 'static, const N: usize, const X: bool, R: Variant + Clone, const F: bool, FUNC>(
        &mut self,
        name: &str,
        params: &[&str],
        doc: &str,
        f: FUNC,
    ) -> &mut Self
    where
        FUNC: RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
    {
        self.register(name, params, doc, FnNamespace::Internal, f)
    }

    /// Like [`ApiModule::func`] but callable as a method (`repo.commit(..)`) from anywhere.
    pub fn method<A: 'static, const N: usize, const X: bool, R: Variant + Clone, const F: bool, FUNC>(
        &mut self,
        name: &str,
        params: &[&str],
        doc: &str,
        f: FUNC,
    ) -> &mut Self
    where
        FUNC: RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
    {
        self.register(name, params, doc, FnNamespace::Global, f)
    }

    fn register<A: 'static, const N: usize, const X: bool, R: Variant + Clone, const F: bool, FUNC>(
        &mut self,
        name: &str,
        params: &[&str],
        doc: &str,
        ns: FnNamespace,
        f: FUNC,
    ) -> &mut Self
    where
        FUNC: RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
    {
        let comment =
            doc.trim().lines().map(|l| format!("/// {l}").trim_end().to_string()).collect::<Vec<_>>().join("\n");
        let types = FUNC::param_types();
        let func = with_call_position(f.into_rhai_function(false, true));
        FuncRegistration::new(name)
            .with_namespace(ns)
            .with_params_info(params)
            .with_comments([comment])
            .set_into_module_raw(&mut self.module, types, func);
        self
    }

    pub fn build(self) -> Module {
        self.module
    }
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
