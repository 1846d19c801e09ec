//! Dense LU factorisation with partial pivoting (row-major), the solver of the absorbing-chain
//! systems `(I − Q) x = r` of the Markov model.

use super::{AttributionError, AttributionResult};

/// Dense LU factorisation with partial pivoting, row-major.
pub(super) struct Lu {
    n: usize,
    a: Vec<f64>,
    piv: Vec<usize>,
}

impl Lu {
    pub(super) fn factor(mut a: Vec<f64>, n: usize) -> AttributionResult<Lu> {
        let scale = a.iter().fold(0f64, |m, &x| m.max(x.abs())).max(1.0);
        let tol = scale * f64::EPSILON * (n.max(1) as f64);
        let mut piv = vec![0usize; n];
        for k in 0..n {
            let mut p = k;
            let mut best = a[k * n + k].abs();
            for i in k + 1..n {
                let v = a[i * n + k].abs();
                if v > best {
                    best = v;
                    p = i;
                }
            }
            if best <= tol || !best.is_finite() {
                return Err(AttributionError::SingularSystem {
                    column: k,
                    pivot: a[p * n + k],
                });
            }
            piv[k] = p;
            if p != k {
                for j in 0..n {
                    a.swap(k * n + j, p * n + j);
                }
            }
            let (top, rest) = a.split_at_mut((k + 1) * n);
            let pivot_row = &top[k * n..];
            let pivot = pivot_row[k];
            for row in rest.chunks_exact_mut(n) {
                let f = row[k] / pivot;
                row[k] = f;
                if f != 0.0 {
                    for (x, &u) in row[k + 1..].iter_mut().zip(&pivot_row[k + 1..]) {
                        *x -= f * u;
                    }
                }
            }
        }
        Ok(Lu { n, a, piv })
    }

    pub(super) fn solve(&self, b: &mut [f64]) {
        let n = self.n;
        for k in 0..n {
            b.swap(k, self.piv[k]);
        }
        for i in 0..n {
            let row = &self.a[i * n..i * n + i];
            let s: f64 = row.iter().zip(&b[..i]).map(|(l, x)| l * x).sum();
            b[i] -= s;
        }
        for i in (0..n).rev() {
            let row = &self.a[i * n..(i + 1) * n];
            let s: f64 = row[i + 1..]
                .iter()
                .zip(&b[i + 1..])
                .map(|(u, x)| u * x)
                .sum();
            b[i] = (b[i] - s) / row[i];
        }
    }
}
