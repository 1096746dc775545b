//! `einsum` (`torch.einsum`): Einstein summation over any equation PyTorch accepts — explicit
//! (`ij,jk->ik`) or implicit (`ij,jk`) output, `...` for broadcast dims, repeated subscripts
//! within an operand for diagonals, and any number of operands.
//!
//! The equation is lowered to the ops a hand-written version would use, so it is as fast and
//! differentiable through them: diagonals by `diagonal`, subscripts no later operand or the
//! output needs by `sum`, and each pairwise contraction by one batched `matmul` on operands
//! permuted to `[batch..., left, contracted]` and `[batch..., contracted, right]`.

use super::Tensor;
use crate::error::{at_caller, Error, Result};

/// Subscripts of one operand: letters, with `...` expanded into placeholder labels.
type Labels = Vec<char>;

/// Placeholder labels for the dims covered by `...` (private-use code points, so they never
/// collide with letters).
fn ellipsis_label(i: usize) -> char {
    char::from_u32(0xE000 + i as u32).unwrap_or('\u{E000}')
}

#[track_caller]
fn parse_operand(spec: &str, ndim: usize, n_ell: usize) -> Result<Labels> {
    let err = |m: String| Error::value("einsum", m);
    let mut out = Vec::new();
    let mut rest = spec;
    let mut seen_ellipsis = false;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("...") {
            if seen_ellipsis {
                return Err(err(format!("einsum(): found more than one ellipsis in operand '{spec}'")));
            }
            seen_ellipsis = true;
            let covered = ndim.checked_sub(spec.replace("...", "").chars().count()).ok_or_else(|| {
                err(format!("einsum(): the number of subscripts in '{spec}' exceeds the operand's {ndim} dimensions"))
            })?;
            // Right-aligned: an operand with fewer broadcast dims takes the last labels.
            out.extend((n_ell - covered..n_ell).map(ellipsis_label));
            rest = &rest[3..];
            continue;
        }
        if !c.is_ascii_alphabetic() {
            return Err(err(format!("einsum(): invalid subscript given in the equation string: '{c}'")));
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if out.len() != ndim {
        return Err(err(format!(
            "einsum(): the number of subscripts in the equation ({}) does not match the number of dimensions ({ndim}) for operand '{spec}'{}",
            out.len(),
            if seen_ellipsis { "" } else { " and no ellipsis was given" }
        )));
    }
    Ok(out)
}

/// An operand with its labels, after its repeated labels became diagonals.
struct Term {
    t: Tensor,
    labels: Labels,
}

impl Term {
    /// Takes the diagonal of every repeated label (`ii -> i`), so each label appears once.
    #[track_caller]
    fn dedup(mut self) -> Result<Term> {
        while let Some((i, j)) = (0..self.labels.len())
            .find_map(|i| (i + 1..self.labels.len()).find(|&j| self.labels[j] == self.labels[i]).map(|j| (i, j)))
        {
            if self.t.shape()[i] != self.t.shape()[j] {
                return Err(Error::shape(
                    "einsum",
                    format!(
                        "einsum(): subscript {} is repeated for operand but the sizes don't match, {} != {}",
                        self.labels[i],
                        self.t.shape()[i],
                        self.t.shape()[j]
                    ),
                ));
            }
            // diagonal() puts the diagonal last.
            self.t = at_caller(self.t.diagonal(0, i as isize, j as isize))?;
            let l = self.labels[i];
            self.labels.remove(j);
            self.labels.remove(i);
            self.labels.push(l);
        }
        Ok(self)
    }

    /// Sums out the labels not in `keep`.
    #[track_caller]
    fn sum_except(mut self, keep: &[char]) -> Result<Term> {
        let drop: Vec<isize> =
            (0..self.labels.len()).filter(|&i| !keep.contains(&self.labels[i])).map(|i| i as isize).collect();
        if !drop.is_empty() {
            self.t = at_caller(self.t.sum_dims_keep(&drop, false))?;
            self.labels.retain(|l| keep.contains(l));
        }
        Ok(self)
    }

    /// The tensor with its dims in the order of `labels` (a permutation of its own).
    #[track_caller]
    fn permuted(&self, labels: &[char]) -> Result<Tensor> {
        let perm: Vec<usize> = labels.iter().map(|l| self.labels.iter().position(|x| x == l).unwrap_or(0)).collect();
        at_caller(self.t.permute(&perm[..]))
    }

    fn size(&self, l: char) -> usize {
        self.labels.iter().position(|&x| x == l).map_or(1, |i| self.t.shape()[i])
    }
}

/// Contracts two terms, keeping the labels in `keep` (the output's and later operands').
#[track_caller]
fn contract(a: Term, b: Term, keep: &[char]) -> Result<Term> {
    // A summed label of size 1 on one side broadcasts against the other: it sums out of each
    // side separately (on the size-1 side that is a squeeze).
    let mut unequal: Labels = Vec::new();
    for &l in a.labels.iter().filter(|l| b.labels.contains(l) && !keep.contains(l)) {
        let (x, y) = (a.size(l), b.size(l));
        if x != y {
            if x != 1 && y != 1 {
                return Err(Error::shape(
                    "einsum",
                    format!(
                        "einsum(): operands do not broadcast with remapped shapes: subscript {l} has sizes {x} and {y}"
                    ),
                ));
            }
            unequal.push(l);
        }
    }
    let drop = |t: Term| -> Result<Term> {
        let k: Labels = t.labels.iter().filter(|l| !unequal.contains(l)).copied().collect();
        t.sum_except(&k)
    };
    let (a, b) = (drop(a)?, drop(b)?);
    let in_b = |l: &char| b.labels.contains(l);
    let batch: Labels = a.labels.iter().filter(|l| in_b(l) && keep.contains(l)).copied().collect();
    let summed: Labels = a.labels.iter().filter(|l| in_b(l) && !keep.contains(l)).copied().collect();
    let left: Labels = a.labels.iter().filter(|l| !in_b(l)).copied().collect();
    let right: Labels = b.labels.iter().filter(|l| !a.labels.contains(l)).copied().collect();
    let prod = |t: &Term, ls: &[char]| ls.iter().map(|&l| t.size(l)).product::<usize>();
    let (m, k, n) = (prod(&a, &left), prod(&a, &summed), prod(&b, &right));
    let a_order: Labels = batch.iter().chain(&left).chain(&summed).copied().collect();
    let b_order: Labels = batch.iter().chain(&summed).chain(&right).copied().collect();
    let a_batch: Vec<usize> = batch.iter().map(|&l| a.size(l)).collect();
    let b_batch: Vec<usize> = batch.iter().map(|&l| b.size(l)).collect();
    let a3 = at_caller(a.permuted(&a_order)?.reshape(&[a_batch, vec![m, k]].concat()[..]))?;
    let b3 = at_caller(b.permuted(&b_order)?.reshape(&[b_batch, vec![k, n]].concat()[..]))?;
    let out = at_caller(a3.matmul(&b3))?;
    let mut shape: Vec<usize> = out.shape()[..batch.len()].to_vec();
    shape.extend(left.iter().map(|&l| a.size(l)));
    shape.extend(right.iter().map(|&l| b.size(l)));
    let t = at_caller(out.reshape(&shape[..]))?;
    Ok(Term { t, labels: batch.into_iter().chain(left).chain(right).collect() })
}

impl Tensor {
    /// Einstein summation (`torch.einsum(equation, *operands)`): see the module docs.
    #[track_caller]
    pub fn einsum(equation: &str, operands: &[&Tensor]) -> Result<Tensor> {
        let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
        let (lhs, rhs) = match eq.split_once("->") {
            Some((l, r)) => (l.to_string(), Some(r.to_string())),
            None => (eq.clone(), None),
        };
        let specs: Vec<&str> = lhs.split(',').collect();
        if specs.len() != operands.len() {
            return Err(Error::value(
                "einsum",
                format!(
                    "einsum(): {} operands were provided, but the equation specifies {}",
                    operands.len(),
                    specs.len()
                ),
            ));
        }
        // The broadcast dims `...` stands for: as many as the operand that covers the most.
        let n_ell = specs
            .iter()
            .zip(operands)
            .filter(|(s, _)| s.contains("..."))
            .map(|(s, t)| t.dim().saturating_sub(s.replace("...", "").chars().count()))
            .max()
            .unwrap_or(0);
        let mut terms = Vec::with_capacity(operands.len());
        // Every subscript as written (before diagonals merge repeats), for the implicit output.
        let mut all: Labels = Vec::new();
        for (s, t) in specs.iter().zip(operands) {
            let labels = parse_operand(s, t.dim(), n_ell)?;
            all.extend(&labels);
            terms.push(Term { t: (*t).clone(), labels }.dedup()?);
        }
        let output: Labels = match rhs {
            Some(r) => {
                let labels = parse_operand(
                    &r,
                    r.replace("...", "").chars().count() + if r.contains("...") { n_ell } else { 0 },
                    n_ell,
                )?;
                for (i, l) in labels.iter().enumerate() {
                    if labels[..i].contains(l) {
                        return Err(Error::value(
                            "einsum",
                            format!("einsum(): output subscript {l} appears more than once in the output"),
                        ));
                    }
                    if !terms.iter().any(|t| t.labels.contains(l)) {
                        return Err(Error::value(
                            "einsum",
                            format!(
                                "einsum(): output subscript {l} does not appear in the equation for any input operand"
                            ),
                        ));
                    }
                }
                labels
            }
            None => {
                // Implicit output: `...` first, then the letters that appear once, sorted.
                let mut once: Labels = Vec::new();
                for &l in &all {
                    if l.is_ascii_alphabetic() && all.iter().filter(|&&x| x == l).count() == 1 {
                        once.push(l);
                    }
                }
                once.sort_unstable();
                (0..n_ell).map(ellipsis_label).chain(once).collect()
            }
        };
        // Contract left to right; each step keeps what the output and later operands need.
        let mut iter = terms.into_iter().enumerate();
        let Some((_, first)) = iter.next() else {
            return Err(Error::value("einsum", "einsum(): must provide at least one operand"));
        };
        let rest: Vec<Term> = iter.map(|(_, t)| t).collect();
        let needed = |from: usize| -> Labels {
            output.iter().copied().chain(rest[from..].iter().flat_map(|t| t.labels.clone())).collect()
        };
        let mut acc = first.sum_except(&needed(0))?;
        for i in 0..rest.len() {
            let keep = needed(i + 1);
            let b = Term { t: rest[i].t.clone(), labels: rest[i].labels.clone() };
            let keep_b: Labels = keep.iter().copied().chain(acc.labels.iter().copied()).collect();
            let b = b.sum_except(&keep_b)?;
            acc = contract(acc, b, &keep)?;
        }
        let acc = acc.sum_except(&output)?;
        acc.permuted(&output)
    }
}
