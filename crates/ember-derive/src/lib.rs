//! `#[derive(Module)]`: writes `ember::nn::Module`'s visitor methods from a struct's fields, so
//! `parameters`, `named_parameters` (PyTorch key names such as `fc1.weight`, `layers.0.bias`),
//! `state_dict`, `load_state_dict` and `train`/`eval` work without hand-written code.
//!
//! Field rules: a `Tensor` field is a parameter (`#[module(buffer)]` makes it a buffer); any
//! other field must implement `Module` (layers, `Vec<M>`, `Option<M>`), except plain data
//! (integers, floats, `bool`, `String`) and fields marked `#[module(skip)]`, which are ignored.
//! `#[module(crate = "ember_nn")]` on the struct sets the path of the `nn` module for crates
//! that use the derive without depending on the `ember` facade.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitStr, Type};

enum FieldKind {
    Param,
    Buffer,
    Module,
    Skip,
}

fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn kind_of(field: &syn::Field) -> syn::Result<FieldKind> {
    let mut kind = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                kind = Some(FieldKind::Skip);
            } else if meta.path.is_ident("buffer") {
                kind = Some(FieldKind::Buffer);
            } else if meta.path.is_ident("param") {
                kind = Some(FieldKind::Param);
            } else {
                return Err(meta.error("expected `skip`, `buffer` or `param`"));
            }
            Ok(())
        })?;
    }
    if let Some(k) = kind {
        return Ok(k);
    }
    let name = last_segment(&field.ty).unwrap_or_default();
    Ok(match name.as_str() {
        "Tensor" => FieldKind::Param,
        "usize" | "isize" | "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "f32" | "f64" | "bool"
        | "String" | "DType" | "PhantomData" => FieldKind::Skip,
        _ => FieldKind::Module,
    })
}

fn crate_path(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
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

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let nn = crate_path(input)?;
    let name = &input.ident;
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(input, "#[derive(Module)] supports structs only"));
    };
    let mut visits = Vec::new();
    let mut trains = Vec::new();
    let fields: Vec<(proc_macro2::TokenStream, String, &syn::Field)> = match &data.fields {
        Fields::Named(f) => f
            .named
            .iter()
            .map(|f| {
                let id = f.ident.clone().unwrap_or_else(|| format_ident!("_"));
                (quote!(#id), id.to_string(), f)
            })
            .collect(),
        Fields::Unnamed(f) => f
            .unnamed
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let idx = syn::Index::from(i);
                (quote!(#idx), i.to_string(), f)
            })
            .collect(),
        Fields::Unit => Vec::new(),
    };
    for (access, key, field) in fields {
        match kind_of(field)? {
            FieldKind::Skip => {}
            FieldKind::Param => visits.push(quote! {
                visitor(&#nn::join_name(prefix, #key), &self.#access, #nn::TensorKind::Parameter);
            }),
            FieldKind::Buffer => visits.push(quote! {
                visitor(&#nn::join_name(prefix, #key), &self.#access, #nn::TensorKind::Buffer);
            }),
            FieldKind::Module => {
                visits.push(quote! {
                    #nn::Module::visit_tensors(&self.#access, &#nn::join_name(prefix, #key), visitor);
                });
                trains.push(quote! {
                    #nn::Module::set_training(&mut self.#access, training);
                });
            }
        }
    }
    Ok(quote! {
        impl #impl_g #nn::Module for #name #ty_g #where_g {
            fn visit_tensors(&self, prefix: &str, visitor: &mut dyn FnMut(&str, &#nn::__Tensor, #nn::TensorKind)) {
                #(#visits)*
            }
            fn set_training(&mut self, training: bool) {
                let _ = training;
                #(#trains)*
            }
        }
    })
}
