//! Constant-velocity Kalman filter over (centre x, centre y, aspect, height), the
//! motion model of SORT/DeepSORT/ByteTrack. Noise scales with box height, so near
//! (large) and far (small) vehicles are filtered alike. Fixed-size arrays: no
//! allocation per update.

// Matrix arithmetic reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

type M8 = [[f32; 8]; 8];
type M4 = [[f32; 4]; 4];

const W_POS: f32 = 1.0 / 20.0;
const W_VEL: f32 = 1.0 / 160.0;

#[derive(Debug, Clone, Copy)]
pub struct Kalman {
    pub mean: [f32; 8],
    cov: M8,
}

fn diag8(v: [f32; 8]) -> M8 {
    let mut m = [[0.0; 8]; 8];
    for i in 0..8 {
        m[i][i] = v[i] * v[i];
    }
    m
}

/// Inverse of a symmetric positive-definite 4×4 matrix by Gauss–Jordan elimination.
fn inv4(m: &M4) -> Option<M4> {
    let mut a = *m;
    let mut inv = [[0.0f32; 4]; 4];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col];
        for k in 0..4 {
            a[col][k] /= p;
            inv[col][k] /= p;
        }
        for r in 0..4 {
            if r != col {
                let f = a[r][col];
                for k in 0..4 {
                    a[r][k] -= f * a[col][k];
                    inv[r][k] -= f * inv[col][k];
                }
            }
        }
    }
    Some(inv)
}

impl Kalman {
    pub fn new(z: [f32; 4]) -> Kalman {
        let h = z[3];
        let std = [
            2.0 * W_POS * h,
            2.0 * W_POS * h,
            1e-2,
            2.0 * W_POS * h,
            10.0 * W_VEL * h,
            10.0 * W_VEL * h,
            1e-5,
            10.0 * W_VEL * h,
        ];
        Kalman { mean: [z[0], z[1], z[2], z[3], 0.0, 0.0, 0.0, 0.0], cov: diag8(std) }
    }

    pub fn measurement(&self) -> [f32; 4] {
        [self.mean[0], self.mean[1], self.mean[2], self.mean[3]]
    }

    /// Advances one frame period.
    pub fn predict(&mut self) {
        self.predict_by(1.0);
    }

    /// Advances `dt` frame periods (velocity is in pixels per period).
    pub fn predict_by(&mut self, dt: f32) {
        let h = self.mean[3];
        for i in 0..4 {
            self.mean[i] += dt * self.mean[i + 4];
        }
        // P = F P F^T with F = [[I, dt·I], [0, I]].
        let p = self.cov;
        let mut fp = p;
        for i in 0..4 {
            for j in 0..8 {
                fp[i][j] = p[i][j] + dt * p[i + 4][j];
            }
        }
        let mut fpf = fp;
        for i in 0..8 {
            for j in 0..4 {
                fpf[i][j] = fp[i][j] + dt * fp[i][j + 4];
            }
        }
        // Process noise grows with the time elapsed.
        let q = diag8([W_POS * h, W_POS * h, 1e-2, W_POS * h, W_VEL * h, W_VEL * h, 1e-5, W_VEL * h]);
        for i in 0..8 {
            fpf[i][i] += dt * q[i][i];
        }
        self.cov = fpf;
    }

    /// Corrects with a measured box (xyah).
    pub fn update(&mut self, z: [f32; 4]) {
        let h = self.mean[3];
        let r = [W_POS * h, W_POS * h, 1e-1, W_POS * h];
        let p = &self.cov;
        let mut s = [[0.0f32; 4]; 4];
        for i in 0..4 {
            for j in 0..4 {
                s[i][j] = p[i][j];
            }
            s[i][i] += r[i] * r[i];
        }
        let Some(si) = inv4(&s) else { return };
        // K = P H^T S^-1: (8x4) = P[:, 0..4] * S^-1.
        let mut k = [[0.0f32; 4]; 8];
        for i in 0..8 {
            for j in 0..4 {
                k[i][j] = (0..4).map(|m| p[i][m] * si[m][j]).sum();
            }
        }
        let innov: [f32; 4] = std::array::from_fn(|i| z[i] - self.mean[i]);
        for i in 0..8 {
            self.mean[i] += (0..4).map(|j| k[i][j] * innov[j]).sum::<f32>();
        }
        // P = P - K (H P) where H P = P[0..4, :].
        let mut newp = *p;
        for i in 0..8 {
            for j in 0..8 {
                newp[i][j] -= (0..4).map(|m| k[i][m] * p[m][j]).sum::<f32>();
            }
        }
        self.cov = newp;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_constant_velocity() {
        let mut kf = Kalman::new([100.0, 100.0, 0.5, 40.0]);
        for t in 1..30 {
            kf.predict();
            kf.update([100.0 + 3.0 * t as f32, 100.0 - 2.0 * t as f32, 0.5, 40.0]);
        }
        assert!((kf.mean[4] - 3.0).abs() < 0.2 && (kf.mean[5] + 2.0).abs() < 0.2, "{:?}", kf.mean);
        kf.predict();
        assert!((kf.mean[0] - 190.0).abs() < 1.0, "{:?}", kf.mean);
    }

    #[test]
    fn inverse_of_identity_like() {
        let m = [[2.0, 0.0, 0.0, 0.0], [0.0, 4.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.5], [0.0, 0.0, 0.5, 1.0]];
        let inv = inv4(&m).unwrap();
        for i in 0..4 {
            for j in 0..4 {
                let v: f32 = (0..4).map(|k| m[i][k] * inv[k][j]).sum();
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-5);
            }
        }
    }
}
