//! The one piece of dense linear algebra the model needs: solving a small symmetric
//! positive-definite system (normal equations of ridge regression, ~25 unknowns) by
//! Cholesky. Hand-written because the maintained ndarray solvers need LAPACK, or an
//! older ndarray than the one `ort` pins; the sizes here make that irrelevant for speed.

use ndarray::{Array1, Array2};

/// Solves `a x = b` for symmetric positive-definite `a`; `None` if `a` is not.
pub fn solve_spd(a: &Array2<f64>, b: &Array1<f64>) -> Option<Array1<f64>> {
    let n = b.len();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                let d = a[[i, i]] - dot;
                if d.is_nan() || d <= 0.0 {
                    return None;
                }
                l[[i, i]] = d.sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - dot) / l[[j, j]];
            }
        }
    }
    let mut y = Array1::<f64>::zeros(n);
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[[i, k]] * y[k]).sum::<f64>()) / l[[i, i]];
    }
    let mut x = Array1::<f64>::zeros(n);
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[[k, i]] * x[k]).sum::<f64>()) / l[[i, i]];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn solves_and_refuses() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let x_true = array![1.0, -2.0, 0.5];
        let x = solve_spd(&a, &a.dot(&x_true)).unwrap();
        assert!((x - x_true).iter().all(|e| e.abs() < 1e-12));
        assert!(solve_spd(&array![[1.0, 2.0], [2.0, 1.0]], &array![1.0, 1.0]).is_none());
    }
}
