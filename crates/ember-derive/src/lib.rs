//! `#[derive(Module)]`: writes `ember::nn::Module`'s visitors from a struct's or enum's fields,
//! so `parameters`, `named_parameters` (PyTorch key names such as `fc1.weight`,
//! `layers.0.bias`), `state_dict`, `load_state_dict`, the module tree (`children`, `modules`,
//! `apply`), `to_dtype` and `train`/`eval` work without hand-written code.
//!
//! Field rules, by type:
//! - `Tensor` is a parameter (`#[module(buffer)]` makes it a buffer); `Option<Tensor>` one when
//!   `Some`; `Vec<Tensor>` parameters named `field.0`, `field.1`, ... (PyTorch's ParameterList).
//! - Plain data is ignored: numbers, `bool`, `char`, `String`, `&T`, `DType`, `Device`,
//!   `PhantomData`, and tuples, arrays, `Option`s and `Vec`s of those.
//! - Anything else is a submodule and must implement `Module` (layers, `Vec<M>` as a
//!   ModuleList, `Box<M>`); `Option<M>` is a submodule when `Some`.
//! - `#[module(skip)]` ignores a field of any other type (options structs, packed weights).
//! - `#[module(transparent)]` puts a submodule's tensors and children at this level (a
//!   newtype such as `BatchNorm1d(BatchNorm)`, or `Sequential`'s list), without a name.
//! - A field `training: bool` is the module's mode flag, set by `train()`/`eval()`.
//!
//! Enums work the same way, one match arm per variant (unit variants have nothing to visit).
//! `#[module(crate = "ember_nn")]` on the type sets the path of the `nn` module for crates
//! that use the derive without depending on the `ember` facade.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields, GenericArgument, LitStr, PathArguments, Type};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Param,
    Buffer,
    Module,
    Skip,
}

/// The container around a field's element type.
#[derive(Clone, Copy, PartialEq)]
enum Wrap {
    Plain,
    Option,
    Vec,
}

struct FieldPlan {
    kind: Kind,
    wrap: Wrap,
    transparent: bool,
}

fn last_segment(ty: &Type) -> Option<(&syn::Ident, &PathArguments)> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| (&s.ident, &s.arguments)),
        _ => None,
    }
}

fn first_type_arg(args: &PathArguments) -> Option<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

/// Whether a type is plain data (never a tensor or a module).
fn is_plain(ty: &Type) -> bool {
    match ty {
        Type::Reference(_) | Type::Ptr(_) | Type::BareFn(_) | Type::Never(_) => true,
        Type::Tuple(t) => t.elems.iter().all(is_plain),
        Type::Array(a) => is_plain(&a.elem),
        Type::Slice(s) => is_plain(&s.elem),
        Type::Paren(p) => is_plain(&p.elem),
        _ => match last_segment(ty) {
            Some((id, args)) => match id.to_string().as_str() {
                "usize" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "i8" | "i16" | "i32" | "i64" | "i128"
                | "f32" | "f64" | "bool" | "char" | "String" | "DType" | "Device" | "PhantomData" => true,
                "Option" | "Vec" => first_type_arg(args).is_some_and(is_plain),
                _ => false,
            },
            None => false,
        },
    }
}

fn is_tensor(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|(id, _)| id == "Tensor")
}

fn plan(field: &syn::Field) -> syn::Result<FieldPlan> {
    let (mut forced, mut transparent) = (None, false);
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                forced = Some(Kind::Skip);
            } else if meta.path.is_ident("buffer") {
                forced = Some(Kind::Buffer);
            } else if meta.path.is_ident("param") {
                forced = Some(Kind::Param);
            } else if meta.path.is_ident("transparent") {
                transparent = true;
            } else {
                return Err(meta.error("expected `skip`, `buffer`, `param` or `transparent`"));
            }
            Ok(())
        })?;
    }
    let ty = &field.ty;
    let (wrap, inner) = match last_segment(ty) {
        Some((id, args)) if id == "Option" => (Wrap::Option, first_type_arg(args).unwrap_or(ty)),
        Some((id, args)) if id == "Vec" && first_type_arg(args).is_some_and(is_tensor) => {
            (Wrap::Vec, first_type_arg(args).unwrap_or(ty))
        }
        _ => (Wrap::Plain, ty),
    };
    let kind = match forced {
        Some(Kind::Skip) => Kind::Skip,
        Some(k) if is_tensor(inner) => k,
        Some(_) => return Err(syn::Error::new_spanned(ty, "`param`/`buffer` apply to Tensor fields")),
        None if is_tensor(inner) => Kind::Param,
        None if is_plain(ty) => Kind::Skip,
        None => Kind::Module,
    };
    if transparent && (kind != Kind::Module || wrap != Wrap::Plain) {
        return Err(syn::Error::new_spanned(ty, "`transparent` applies to a plain submodule field"));
    }
    Ok(FieldPlan { kind, wrap, transparent })
}

/// The visitor statements for one field, whose value is the expression `v` (a reference).
struct Visits {
    tensors: Tokens,
    tensors_mut: Tokens,
    children: Tokens,
    children_mut: Tokens,
    training: Tokens,
}

fn field_visits(nn: &Tokens, v: &Tokens, key: &str, p: &FieldPlan, is_training: bool) -> Visits {
    let mut out = Visits {
        tensors: quote!(),
        tensors_mut: quote!(),
        children: quote!(),
        children_mut: quote!(),
        training: quote!(),
    };
    if is_training {
        out.training = quote!(*#v = training;);
    }
    match p.kind {
        Kind::Skip => {}
        Kind::Param | Kind::Buffer => {
            let k = if p.kind == Kind::Param { quote!(Parameter) } else { quote!(Buffer) };
            let (one, one_mut) = (
                quote!(visitor(&#nn::join_name(prefix, #key), t, #nn::TensorKind::#k);),
                quote!(visitor(&#nn::join_name(prefix, #key), t, #nn::TensorKind::#k);),
            );
            let each = quote! {
                for (i, t) in #v.iter().enumerate() {
                    visitor(&#nn::join_name(&#nn::join_name(prefix, #key), &i.to_string()), t, #nn::TensorKind::#k);
                }
            };
            let each_mut = quote! {
                for (i, t) in #v.iter_mut().enumerate() {
                    visitor(&#nn::join_name(&#nn::join_name(prefix, #key), &i.to_string()), t, #nn::TensorKind::#k);
                }
            };
            (out.tensors, out.tensors_mut) = match p.wrap {
                Wrap::Plain => (quote!({ let t = #v; #one }), quote!({ let t = #v; #one_mut })),
                Wrap::Option => (quote!(if let Some(t) = #v { #one }), quote!(if let Some(t) = #v { #one_mut })),
                Wrap::Vec => (each, each_mut),
            };
        }
        Kind::Module if p.transparent => {
            out.tensors = quote!(#nn::Module::visit_tensors(#v, prefix, visitor););
            out.tensors_mut = quote!(#nn::Module::visit_tensors_mut(#v, prefix, visitor););
            out.children = quote!(#nn::Module::visit_children(#v, visitor););
            out.children_mut = quote!(#nn::Module::visit_children_mut(#v, visitor););
            out.training = quote!(#nn::Module::set_training(#v, training););
        }
        Kind::Module => {
            let (bind, bind_mut) = match p.wrap {
                Wrap::Option => (quote!(if let Some(m) = #v), quote!(if let Some(m) = #v)),
                _ => (quote!(if let m = #v), quote!(if let m = #v)),
            };
            out.tensors = quote!(#[allow(irrefutable_let_patterns)] #bind {
                #nn::Module::visit_tensors(m, &#nn::join_name(prefix, #key), visitor);
            });
            out.tensors_mut = quote!(#[allow(irrefutable_let_patterns)] #bind_mut {
                #nn::Module::visit_tensors_mut(m, &#nn::join_name(prefix, #key), visitor);
            });
            out.children = quote!(#[allow(irrefutable_let_patterns)] #bind { visitor(#key, m); });
            out.children_mut = quote!(#[allow(irrefutable_let_patterns)] #bind_mut { visitor(#key, m); });
            out.training = quote!(#[allow(irrefutable_let_patterns)] #bind_mut {
                #nn::Module::set_training(m, training);
            });
        }
    }
    out
}

fn crate_path(input: &DeriveInput) -> syn::Result<Tokens> {
    let mut path = quote!(::ember::nn);
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let s: LitStr = meta.value()?.parse()?;
                let p: syn::Path = s.parse()?;
                path = quote!(#p);
                Ok(())
            } else {
                Err(meta.error("expected `crate = \"path\"`"))
            }
        })?;
    }
    Ok(path)
}

/// Derives `Module` (see the crate docs for the field rules).
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The five visitor bodies for one set of fields, binding each field by `bind(i, field)`
/// (a reference expression).
fn visit_fields(nn: &Tokens, fields: &Fields, bind: impl Fn(usize, &syn::Field) -> Tokens) -> syn::Result<[Tokens; 5]> {
    let mut acc: [Vec<Tokens>; 5] = Default::default();
    let list: Vec<&syn::Field> = fields.iter().collect();
    for (i, f) in list.iter().enumerate() {
        let key = f.ident.as_ref().map_or_else(|| i.to_string(), |id| id.to_string());
        let is_training = f.ident.as_ref().is_some_and(|id| id == "training")
            && last_segment(&f.ty).is_some_and(|(id, _)| id == "bool");
        let v = bind(i, f);
        let vis = field_visits(nn, &v, &key, &plan(f)?, is_training);
        for (a, t) in acc.iter_mut().zip([vis.tensors, vis.tensors_mut, vis.children, vis.children_mut, vis.training]) {
            a.push(t);
        }
    }
    Ok(acc.map(|v| quote!(#(#v)*)))
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let nn = crate_path(input)?;
    let name = &input.ident;
    let type_name = name.to_string();
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    // Bodies of visit_tensors, visit_tensors_mut, visit_children, visit_children_mut, set_training.
    let bodies: [Tokens; 5] = match &input.data {
        Data::Struct(data) => {
            let by_ref = |i: usize, f: &syn::Field| match &f.ident {
                Some(id) => quote!((&self.#id)),
                None => {
                    let idx = syn::Index::from(i);
                    quote!((&self.#idx))
                }
            };
            let by_mut = |i: usize, f: &syn::Field| match &f.ident {
                Some(id) => quote!((&mut self.#id)),
                None => {
                    let idx = syn::Index::from(i);
                    quote!((&mut self.#idx))
                }
            };
            let r = visit_fields(&nn, &data.fields, by_ref)?;
            let m = visit_fields(&nn, &data.fields, by_mut)?;
            let [t, _, c, _, _] = r;
            let [_, tm, _, cm, tr] = m;
            [t, tm, c, cm, tr]
        }
        Data::Enum(data) => {
            let mut arms: [Vec<Tokens>; 5] = Default::default();
            for var in &data.variants {
                let vid = &var.ident;
                let binders: Vec<syn::Ident> = (0..var.fields.len()).map(|i| format_ident!("__f{i}")).collect();
                let pat = match &var.fields {
                    Fields::Named(f) => {
                        let names = f.named.iter().map(|f| f.ident.clone());
                        quote!(#name::#vid { #(#names: #binders),* })
                    }
                    Fields::Unnamed(_) => quote!(#name::#vid(#(#binders),*)),
                    Fields::Unit => quote!(#name::#vid),
                };
                let bind = |i: usize, _: &syn::Field| {
                    let b = &binders[i];
                    quote!(#b)
                };
                let bodies = visit_fields(&nn, &var.fields, bind)?;
                for (a, body) in arms.iter_mut().zip(bodies) {
                    a.push(quote!(#[allow(unused_variables)] #pat => { #body }));
                }
            }
            arms.map(|a| quote!(match self { #(#a)* }))
        }
        Data::Union(_) => return Err(syn::Error::new_spanned(input, "#[derive(Module)] supports structs and enums")),
    };
    let [tensors, tensors_mut, children, children_mut, training] = bodies;
    Ok(quote! {
        impl #impl_g #nn::Module for #name #ty_g #where_g {
            fn visit_tensors(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &#nn::__Tensor, #nn::TensorKind)) {
                let _ = (&prefix, &visitor);
                #tensors
            }
            fn visit_tensors_mut(
                &mut self,
                prefix: &str,
                visitor: &mut dyn FnMut(&str, &mut #nn::__Tensor, #nn::TensorKind),
            ) {
                let _ = (&prefix, &visitor);
                #tensors_mut
            }
            fn visit_children<'__a>(&'__a self, visitor: &mut dyn FnMut(&str, &'__a dyn #nn::Module)) {
                let _ = &visitor;
                #children
            }
            fn visit_children_mut(&mut self, visitor: &mut dyn FnMut(&str, &mut dyn #nn::Module)) {
                let _ = &visitor;
                #children_mut
            }
            fn set_training(&mut self, training: bool) {
                let _ = training;
                #training
            }
            fn type_name(&self) -> &'static str {
                #type_name
            }
        }
    })
}
