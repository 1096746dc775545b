//! Recurrent layers with PyTorch's constructors, parameter names and call conventions:
//! `RNN` (tanh/relu), `LSTM` (with `proj_size`), `GRU`, and the one-step cells `RNNCell`,
//! `LSTMCell`, `GRUCell`.
//!
//! Each layer-direction runs as one fused node (`ember_core::fused::rnn`): the input
//! projection of all steps is one GEMM and each step is one GEMM plus a fused gate kernel.
//! Parameters are named as PyTorch names them (`weight_ih_l0`, `bias_hh_l1_reverse`,
//! `weight_hr_l0`), so a PyTorch state dict loads as is. Packed sequences
//! ([`crate::utils::rnn`]) run with the batch shrinking as sequences end.

use crate::functional as F;
use crate::init;
use crate::module::{param, Forward, Module, TensorKind};
use crate::utils::rnn::PackedSequence;
use ember_core::fused::rnn::{rnn_layer, RnnMode, RnnWeights};
use ember_core::{DType, Error, Result, Tensor};

/// Options shared by `RNN`, `LSTM` and `GRU` (PyTorch's keyword arguments and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RnnOptions {
    pub num_layers: usize,
    pub bias: bool,
    /// Inputs and outputs are `[N, T, *]` instead of `[T, N, *]` (states stay `[L*D, N, *]`).
    pub batch_first: bool,
    /// Dropout on the outputs of every layer but the last, in training mode.
    pub dropout: f64,
    pub bidirectional: bool,
    /// LSTM only: project `h` to this size (0 = no projection).
    pub proj_size: usize,
    /// RNN only: `tanh` (default) or `relu`.
    pub relu: bool,
}

impl Default for RnnOptions {
    fn default() -> RnnOptions {
        RnnOptions {
            num_layers: 1,
            bias: true,
            batch_first: false,
            dropout: 0.0,
            bidirectional: false,
            proj_size: 0,
            relu: false,
        }
    }
}

/// The machinery of `RNN`, `LSTM` and `GRU` (PyTorch's `RNNBase`).
#[derive(Debug, Clone)]
pub struct RnnBase {
    pub mode: RnnMode,
    pub input_size: usize,
    pub hidden_size: usize,
    pub options: RnnOptions,
    /// `(name, tensor)` in PyTorch's order: per layer, per direction, `weight_ih`,
    /// `weight_hh`, `bias_ih`, `bias_hh`, `weight_hr`.
    params: Vec<(String, Tensor)>,
    pub training: bool,
}

impl RnnBase {
    #[track_caller]
    fn new(mode: RnnMode, input_size: usize, hidden_size: usize, o: RnnOptions) -> Result<RnnBase> {
        let op = name_of(mode);
        if hidden_size == 0 || o.num_layers == 0 {
            return Err(Error::value(op, "hidden_size and num_layers must be greater than zero"));
        }
        if !(0.0..=1.0).contains(&o.dropout) {
            return Err(Error::value(op, format!("dropout should be a number in range [0, 1], got {}", o.dropout)));
        }
        if o.proj_size > 0 && mode != RnnMode::Lstm {
            return Err(Error::value(op, "proj_size argument is only supported for LSTM, not RNN or GRU"));
        }
        if o.proj_size >= hidden_size && o.proj_size > 0 {
            return Err(Error::value(op, "proj_size has to be smaller than hidden_size"));
        }
        let dirs = if o.bidirectional { 2 } else { 1 };
        let p = if o.proj_size > 0 { o.proj_size } else { hidden_size };
        let g = mode.gates() * hidden_size;
        let bound = 1.0 / (hidden_size as f64).sqrt();
        let mut params = Vec::new();
        let mut add = |name: String, shape: &[usize]| -> Result<()> {
            let t = Tensor::zeros(shape, DType::F32)?;
            init::uniform_(&t, -bound, bound)?;
            params.push((name, param(t)?));
            Ok(())
        };
        for layer in 0..o.num_layers {
            let inp = if layer == 0 { input_size } else { p * dirs };
            for d in 0..dirs {
                let sfx = if d == 1 { "_reverse" } else { "" };
                add(format!("weight_ih_l{layer}{sfx}"), &[g, inp])?;
                add(format!("weight_hh_l{layer}{sfx}"), &[g, p])?;
                if o.bias {
                    add(format!("bias_ih_l{layer}{sfx}"), &[g])?;
                    add(format!("bias_hh_l{layer}{sfx}"), &[g])?;
                }
                if o.proj_size > 0 {
                    add(format!("weight_hr_l{layer}{sfx}"), &[p, hidden_size])?;
                }
            }
        }
        Ok(RnnBase { mode, input_size, hidden_size, options: o, params, training: true })
    }

    /// The parameter called `name` (`"weight_hh_l0"`), if there is one.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    fn dirs(&self) -> usize {
        if self.options.bidirectional {
            2
        } else {
            1
        }
    }

    /// The size of `h` (`proj_size` or `hidden_size`).
    fn p(&self) -> usize {
        if self.options.proj_size > 0 {
            self.options.proj_size
        } else {
            self.hidden_size
        }
    }

    fn weights(&self, layer: usize, dir: usize) -> RnnWeights<'_> {
        let sfx = if dir == 1 { "_reverse" } else { "" };
        let get = |w: &str| self.get(&format!("{w}_l{layer}{sfx}"));
        RnnWeights {
            w_ih: get("weight_ih").expect("weight_ih exists for every layer"),
            w_hh: get("weight_hh").expect("weight_hh exists for every layer"),
            b_ih: get("bias_ih"),
            b_hh: get("bias_hh"),
            w_hr: get("weight_hr"),
        }
    }

    /// Runs every layer over `x [T, N, I]` (time-major, batched) from `h0 [L*D, N, P]` (and
    /// `c0 [L*D, N, H]`); returns `output [T, N, D*P]`, `h_n` and `c_n`.
    #[track_caller]
    fn run(
        &self,
        x: &Tensor,
        h0: &Tensor,
        c0: Option<&Tensor>,
        batch_sizes: Option<&[usize]>,
    ) -> Result<(Tensor, Tensor, Option<Tensor>)> {
        let op = name_of(self.mode);
        let (dirs, layers) = (self.dirs(), self.options.num_layers);
        if x.shape()[2] != self.input_size {
            return Err(Error::shape(
                op,
                format!(
                    "input.size(-1) must be equal to input_size. Expected {}, got {}",
                    self.input_size,
                    x.shape()[2]
                ),
            ));
        }
        let n = x.shape()[1];
        let want_h = [layers * dirs, n, self.p()];
        if h0.shape() != want_h {
            return Err(Error::shape(op, format!("Expected hidden size {want_h:?}, got {:?}", h0.shape())));
        }
        if let Some(c) = c0 {
            let want_c = [layers * dirs, n, self.hidden_size];
            if c.shape() != want_c {
                return Err(Error::shape(op, format!("Expected hidden[1] size {want_c:?}, got {:?}", c.shape())));
            }
        }
        let mut input = x.clone();
        let (mut hs, mut cs) = (Vec::new(), Vec::new());
        for layer in 0..layers {
            let mut outs = Vec::new();
            for d in 0..dirs {
                let k = (layer * dirs + d) as isize;
                let c = c0.map(|c| c.select(0, k)).transpose()?;
                let r = rnn_layer(
                    self.mode,
                    &input,
                    &h0.select(0, k)?,
                    c.as_ref(),
                    self.weights(layer, d),
                    d == 1,
                    batch_sizes,
                )?;
                outs.push(r.output);
                hs.push(r.h_n);
                cs.extend(r.c_n);
            }
            input = if dirs == 2 { Tensor::cat(&[&outs[0], &outs[1]], 2)? } else { outs.remove(0) };
            if layer + 1 < layers && self.options.dropout > 0.0 && self.training {
                input = F::dropout(&input, self.options.dropout, true)?;
            }
        }
        let h_n = Tensor::stack(&hs.iter().collect::<Vec<_>>(), 0)?;
        let c_n = if cs.is_empty() { None } else { Some(Tensor::stack(&cs.iter().collect::<Vec<_>>(), 0)?) };
        Ok((input, h_n, c_n))
    }

    /// The full call on a padded tensor: batch_first, unbatched inputs and default states.
    #[track_caller]
    fn call(&self, x: &Tensor, h0: Option<&Tensor>, c0: Option<&Tensor>) -> Result<(Tensor, Tensor, Option<Tensor>)> {
        let op = name_of(self.mode);
        let batched = match x.dim() {
            3 => true,
            2 => false,
            _ => {
                return Err(Error::shape(op, format!("expected input of 2 (unbatched) or 3 dims, got {:?}", x.shape())))
            }
        };
        for s in [h0, c0].into_iter().flatten() {
            if s.dim() != if batched { 3 } else { 2 } {
                return Err(Error::shape(
                    op,
                    format!(
                        "For {} input, hx should be {}-D but got {}-D",
                        if batched { "batched 3-D" } else { "unbatched 2-D" },
                        if batched { 3 } else { 2 },
                        s.dim()
                    ),
                ));
            }
        }
        let unsq = |t: &Tensor| if batched { Ok(t.clone()) } else { t.unsqueeze(1) };
        let x = if !batched {
            x.unsqueeze(1)?
        } else if self.options.batch_first {
            x.transpose(0, 1)?
        } else {
            x.clone()
        };
        let n = x.shape()[1];
        let rows = self.options.num_layers * self.dirs();
        let h0 = match h0 {
            Some(h) => unsq(h)?,
            None => Tensor::zeros(&[rows, n, self.p()], x.dtype())?,
        };
        let c0 = match (self.mode, c0) {
            (RnnMode::Lstm, Some(c)) => Some(unsq(c)?),
            (RnnMode::Lstm, None) => Some(Tensor::zeros(&[rows, n, self.hidden_size], x.dtype())?),
            _ => None,
        };
        let (y, h, c) = self.run(&x, &h0, c0.as_ref(), None)?;
        if !batched {
            return Ok((y.squeeze_dim(1)?, h.squeeze_dim(1)?, c.map(|c| c.squeeze_dim(1)).transpose()?));
        }
        let y = if self.options.batch_first { y.transpose(0, 1)? } else { y };
        Ok((y, h, c))
    }

    /// The call on a packed sequence: states are in the caller's batch order.
    #[track_caller]
    fn call_packed(
        &self,
        seq: &PackedSequence,
        h0: Option<&Tensor>,
        c0: Option<&Tensor>,
    ) -> Result<(PackedSequence, Tensor, Option<Tensor>)> {
        let padded = seq.padded_sorted(0.0)?; // [T, N, I] in sorted order
        let n = padded.shape()[1];
        let rows = self.options.num_layers * self.dirs();
        let sort = |t: &Tensor| seq.sort_states(t);
        let h0 = match h0 {
            Some(h) => sort(h)?,
            None => Tensor::zeros(&[rows, n, self.p()], padded.dtype())?,
        };
        let c0 = match (self.mode, c0) {
            (RnnMode::Lstm, Some(c)) => Some(sort(c)?),
            (RnnMode::Lstm, None) => Some(Tensor::zeros(&[rows, n, self.hidden_size], padded.dtype())?),
            _ => None,
        };
        let (y, h, c) = self.run(&padded, &h0, c0.as_ref(), Some(&seq.batch_sizes))?;
        let out = seq.with_data(seq.pack_sorted(&y)?);
        Ok((out, seq.unsort_states(&h)?, c.map(|c| seq.unsort_states(&c)).transpose()?))
    }
}

fn name_of(mode: RnnMode) -> &'static str {
    match mode {
        RnnMode::Lstm => "LSTM",
        RnnMode::Gru => "GRU",
        RnnMode::RnnTanh | RnnMode::RnnRelu => "RNN",
    }
}

macro_rules! rnn_module {
    ($(#[$doc:meta])* $name:ident, $cell:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub RnnBase);

        impl Module for $name {
            fn visit_tensors(&self, prefix: &str, v: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
                for (n, t) in &self.0.params {
                    v(&crate::join_name(prefix, n), t, TensorKind::Parameter);
                }
            }
            fn visit_tensors_mut(&mut self, prefix: &str, v: &mut dyn FnMut(&str, &mut Tensor, TensorKind)) {
                for (n, t) in &mut self.0.params {
                    v(&crate::join_name(prefix, n), t, TensorKind::Parameter);
                }
            }
            fn visit_children<'a>(&'a self, _v: &mut dyn FnMut(&str, &'a dyn Module)) {}
            fn visit_children_mut(&mut self, _v: &mut dyn FnMut(&str, &mut dyn Module)) {}
            fn set_training(&mut self, training: bool) {
                self.0.training = training;
            }
            fn type_name(&self) -> &'static str {
                $cell
            }
        }

        impl std::ops::Deref for $name {
            type Target = RnnBase;
            fn deref(&self) -> &RnnBase {
                &self.0
            }
        }
    };
}

rnn_module!(
    /// `nn.RNN`: an Elman RNN with `tanh` (or, with `options.relu`, `relu`).
    RNN,
    "RNN"
);
rnn_module!(
    /// `nn.LSTM`, with optional projections (`proj_size`).
    LSTM,
    "LSTM"
);
rnn_module!(
    /// `nn.GRU`.
    GRU,
    "GRU"
);

impl RNN {
    /// `nn.RNN(input_size, hidden_size, ...)`.
    #[track_caller]
    pub fn new(input_size: usize, hidden_size: usize, options: RnnOptions) -> Result<RNN> {
        let mode = if options.relu { RnnMode::RnnRelu } else { RnnMode::RnnTanh };
        Ok(RNN(RnnBase::new(mode, input_size, hidden_size, options)?))
    }
}

impl GRU {
    /// `nn.GRU(input_size, hidden_size, ...)`.
    #[track_caller]
    pub fn new(input_size: usize, hidden_size: usize, options: RnnOptions) -> Result<GRU> {
        Ok(GRU(RnnBase::new(RnnMode::Gru, input_size, hidden_size, options)?))
    }
}

macro_rules! hidden_only_calls {
    ($($name:ident),*) => {$(
        impl $name {
            /// `module(input, hx)`: `(output, h_n)`.
            #[track_caller]
            pub fn forward_with(&self, x: &Tensor, hx: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
                let (y, h, _) = self.0.call(x, hx, None)?;
                Ok((y, h))
            }

            /// `module(packed, hx)`: the output packed as the input.
            #[track_caller]
            pub fn forward_packed(&self, x: &PackedSequence, hx: Option<&Tensor>) -> Result<(PackedSequence, Tensor)> {
                let (y, h, _) = self.0.call_packed(x, hx, None)?;
                Ok((y, h))
            }
        }
    )*};
}
hidden_only_calls!(RNN, GRU);

impl LSTM {
    /// `nn.LSTM(input_size, hidden_size, ...)`.
    #[track_caller]
    pub fn new(input_size: usize, hidden_size: usize, options: RnnOptions) -> Result<LSTM> {
        Ok(LSTM(RnnBase::new(RnnMode::Lstm, input_size, hidden_size, options)?))
    }

    /// `lstm(input, (h0, c0))`: `(output, (h_n, c_n))`.
    #[track_caller]
    pub fn forward_with(&self, x: &Tensor, hx: Option<(&Tensor, &Tensor)>) -> Result<(Tensor, (Tensor, Tensor))> {
        let (y, h, c) = self.0.call(x, hx.map(|s| s.0), hx.map(|s| s.1))?;
        Ok((y, (h, c.expect("an LSTM returns a cell state"))))
    }

    /// `lstm(packed, (h0, c0))`.
    #[track_caller]
    pub fn forward_packed(
        &self,
        x: &PackedSequence,
        hx: Option<(&Tensor, &Tensor)>,
    ) -> Result<(PackedSequence, (Tensor, Tensor))> {
        let (y, h, c) = self.0.call_packed(x, hx.map(|s| s.0), hx.map(|s| s.1))?;
        Ok((y, (h, c.expect("an LSTM returns a cell state"))))
    }
}

macro_rules! output_only {
    ($($name:ident),*) => {$(
        impl Forward for $name {
            /// The output sequence from zero initial states.
            fn forward(&self, x: &Tensor) -> Result<Tensor> {
                Ok(self.0.call(x, None, None)?.0)
            }
        }
    )*};
}
output_only!(RNN, LSTM, GRU);

/// A one-step cell (`RNNCell`, `LSTMCell`, `GRUCell`): `weight_ih [G, I]`, `weight_hh [G, H]`,
/// `bias_ih`, `bias_hh`.
#[derive(Debug, Clone, ember_derive::Module)]
#[module(crate = "crate")]
pub struct CellParams {
    pub weight_ih: Tensor,
    pub weight_hh: Tensor,
    pub bias_ih: Option<Tensor>,
    pub bias_hh: Option<Tensor>,
}

impl CellParams {
    fn new(mode: RnnMode, input_size: usize, hidden_size: usize, bias: bool) -> Result<CellParams> {
        let g = mode.gates() * hidden_size;
        let bound = 1.0 / (hidden_size.max(1) as f64).sqrt();
        let u = |shape: &[usize]| -> Result<Tensor> {
            let t = Tensor::zeros(shape, DType::F32)?;
            init::uniform_(&t, -bound, bound)?;
            param(t)
        };
        Ok(CellParams {
            weight_ih: u(&[g, input_size])?,
            weight_hh: u(&[g, hidden_size])?,
            bias_ih: bias.then(|| u(&[g])).transpose()?,
            bias_hh: bias.then(|| u(&[g])).transpose()?,
        })
    }

    /// One step from `x [N, I]` (or `[I]`): `(h', c')`.
    #[track_caller]
    fn step(
        &self,
        mode: RnnMode,
        x: &Tensor,
        h: Option<&Tensor>,
        c: Option<&Tensor>,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let op = name_of(mode);
        let batched = match x.dim() {
            2 => true,
            1 => false,
            _ => {
                return Err(Error::shape(op, format!("cell: Expected input to be 1D or 2D, got {}D instead", x.dim())))
            }
        };
        let hsz = self.weight_hh.shape()[1];
        let x = if batched { x.clone() } else { x.unsqueeze(0)? };
        let n = x.shape()[0];
        let state = |s: Option<&Tensor>| -> Result<Tensor> {
            match s {
                Some(s) if batched => Ok(s.clone()),
                Some(s) => s.unsqueeze(0),
                None => Tensor::zeros(&[n, hsz], x.dtype()),
            }
        };
        let h = state(h)?;
        let c = if mode == RnnMode::Lstm { Some(state(c)?) } else { None };
        let w = RnnWeights {
            w_ih: &self.weight_ih,
            w_hh: &self.weight_hh,
            b_ih: self.bias_ih.as_ref(),
            b_hh: self.bias_hh.as_ref(),
            w_hr: None,
        };
        let r = rnn_layer(mode, &x.unsqueeze(0)?, &h, c.as_ref(), w, false, None)?;
        let sq = |t: Tensor| if batched { Ok(t) } else { t.squeeze_dim(0) };
        Ok((sq(r.h_n)?, r.c_n.map(sq).transpose()?))
    }
}

macro_rules! cell_module {
    ($(#[$doc:meta])* $name:ident, $tn:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            pub params: CellParams,
            pub mode: RnnMode,
        }

        impl Module for $name {
            fn visit_tensors(&self, prefix: &str, v: &mut dyn FnMut(&str, &Tensor, TensorKind)) {
                self.params.visit_tensors(prefix, v)
            }
            fn visit_tensors_mut(&mut self, prefix: &str, v: &mut dyn FnMut(&str, &mut Tensor, TensorKind)) {
                self.params.visit_tensors_mut(prefix, v)
            }
            fn visit_children<'a>(&'a self, _v: &mut dyn FnMut(&str, &'a dyn Module)) {}
            fn visit_children_mut(&mut self, _v: &mut dyn FnMut(&str, &mut dyn Module)) {}
            fn set_training(&mut self, _training: bool) {}
            fn type_name(&self) -> &'static str {
                $tn
            }
        }
    };
}

cell_module!(
    /// `nn.RNNCell(input_size, hidden_size, bias, nonlinearity)`.
    RNNCell,
    "RNNCell"
);
cell_module!(
    /// `nn.LSTMCell(input_size, hidden_size, bias)`.
    LSTMCell,
    "LSTMCell"
);
cell_module!(
    /// `nn.GRUCell(input_size, hidden_size, bias)`.
    GRUCell,
    "GRUCell"
);

impl RNNCell {
    /// `nn.RNNCell(input_size, hidden_size, bias, nonlinearity="tanh"|"relu")`.
    #[track_caller]
    pub fn new(input_size: usize, hidden_size: usize, bias: bool, nonlinearity: &str) -> Result<RNNCell> {
        let mode = match nonlinearity {
            "tanh" => RnnMode::RnnTanh,
            "relu" => RnnMode::RnnRelu,
            other => return Err(Error::value("RNNCell", format!("Unknown nonlinearity: {other}"))),
        };
        Ok(RNNCell { params: CellParams::new(mode, input_size, hidden_size, bias)?, mode })
    }

    /// `cell(input, hx)`: `h'`.
    #[track_caller]
    pub fn forward_with(&self, x: &Tensor, hx: Option<&Tensor>) -> Result<Tensor> {
        Ok(self.params.step(self.mode, x, hx, None)?.0)
    }
}

impl GRUCell {
    /// `nn.GRUCell(input_size, hidden_size, bias)`.
    #[track_caller]
    pub fn new(input_size: usize, hidden_size: usize, bias: bool) -> Result<GRUCell> {
        Ok(GRUCell { params: CellParams::new(RnnMode::Gru, input_size, hidden_size, bias)?, mode: RnnMode::Gru })
    }

    /// `cell(input, hx)`: `h'`.
    #[track_caller]
    pub fn forward_with(&self, x: &Tensor, hx: Option<&Tensor>) -> Result<Tensor> {
        Ok(self.params.step(self.mode, x, hx, None)?.0)
    }
}

impl LSTMCell {
    /// `nn.LSTMCell(input_size, hidden_size, bias)`.
    #[track_caller]
    pub fn new(input_size: usize, hidden_size: usize, bias: bool) -> Result<LSTMCell> {
        Ok(LSTMCell { params: CellParams::new(RnnMode::Lstm, input_size, hidden_size, bias)?, mode: RnnMode::Lstm })
    }

    /// `cell(input, (h, c))`: `(h', c')`.
    #[track_caller]
    pub fn forward_with(&self, x: &Tensor, hx: Option<(&Tensor, &Tensor)>) -> Result<(Tensor, Tensor)> {
        let (h, c) = self.params.step(self.mode, x, hx.map(|s| s.0), hx.map(|s| s.1))?;
        Ok((h, c.expect("an LSTM cell returns a cell state")))
    }
}

macro_rules! cell_forward {
    ($($name:ident),*) => {$(
        impl Forward for $name {
            /// One step from a zero state; returns `h'`.
            fn forward(&self, x: &Tensor) -> Result<Tensor> {
                Ok(self.params.step(self.mode, x, None, None)?.0)
            }
        }
    )*};
}
cell_forward!(RNNCell, LSTMCell, GRUCell);
