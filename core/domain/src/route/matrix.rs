//! Validated travel matrices: distance in metres and duration in seconds between every pair
//! of locations, asymmetric allowed (one-way streets, turn restrictions).
//!
//! A matrix is square, and every entry is finite and non-negative: a NaN, an infinity, a
//! negative value or a missing entry (a pair a road-matrix service could not answer) is refused
//! with a [`RouteError`] naming the pair, so the solver never reasons about garbage.

use super::RouteError;

/// A square matrix of finite, non-negative values between locations `0..len()`.
///
/// Entry `(from, to)` is the cost of going from `from` to `to`; it need not equal `(to, from)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    size: usize,
    values: Vec<f64>,
}

impl Matrix {
    /// A matrix from its rows; refuses ragged rows and bad entries.
    pub fn from_rows(rows: Vec<Vec<f64>>) -> Result<Self, RouteError> {
        let size = rows.len();
        if size == 0 {
            return Err(RouteError::EmptyMatrix);
        }
        let mut values = Vec::with_capacity(size * size);
        for (row, entries) in rows.into_iter().enumerate() {
            if entries.len() != size {
                return Err(RouteError::RowLength { row, len: entries.len(), expected: size });
            }
            values.extend(entries);
        }
        Self::from_flat(size, values)
    }

    /// A matrix from rows whose entries may be missing (`None`), as road-matrix services
    /// answer for pairs they found no route for; any missing entry is refused.
    pub fn from_optional_rows(rows: Vec<Vec<Option<f64>>>) -> Result<Self, RouteError> {
        let size = rows.len();
        if size == 0 {
            return Err(RouteError::EmptyMatrix);
        }
        let mut values = Vec::with_capacity(size * size);
        for (from, entries) in rows.into_iter().enumerate() {
            if entries.len() != size {
                return Err(RouteError::RowLength { row: from, len: entries.len(), expected: size });
            }
            for (to, entry) in entries.into_iter().enumerate() {
                values.push(entry.ok_or(RouteError::MissingEntry { from, to })?);
            }
        }
        Self::from_flat(size, values)
    }

    /// A matrix from `size * size` values in row-major order (row = origin).
    pub fn from_flat(size: usize, values: Vec<f64>) -> Result<Self, RouteError> {
        if size == 0 {
            return Err(RouteError::EmptyMatrix);
        }
        let expected = size.checked_mul(size).ok_or(RouteError::FlatLength {
            size,
            len: values.len(),
            expected: usize::MAX,
        })?;
        if values.len() != expected {
            return Err(RouteError::FlatLength { size, len: values.len(), expected });
        }
        for (index, &value) in values.iter().enumerate() {
            let (from, to) = (index / size, index % size);
            if !value.is_finite() {
                return Err(RouteError::NotFinite { from, to, value });
            }
            if value < 0.0 {
                return Err(RouteError::Negative { from, to, value });
            }
        }
        Ok(Self { size, values })
    }

    /// A matrix computed from a function of the pair, validated like any other.
    pub fn from_fn(size: usize, mut entry: impl FnMut(usize, usize) -> f64) -> Result<Self, RouteError> {
        let mut values = Vec::with_capacity(size.saturating_mul(size));
        for from in 0..size {
            for to in 0..size {
                values.push(entry(from, to));
            }
        }
        Self::from_flat(size, values)
    }

    /// Number of locations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.size
    }

    /// Always false: a valid matrix has at least one location.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The entry from `from` to `to`.
    ///
    /// # Panics
    /// If either index is `>= len()`.
    #[must_use]
    pub fn get(&self, from: usize, to: usize) -> f64 {
        assert!(from < self.size && to < self.size, "matrix index {from}->{to} out of {}", self.size);
        self.values[from * self.size + to]
    }

    /// Whether every entry equals its mirror.
    #[must_use]
    pub fn is_symmetric(&self) -> bool {
        (0..self.size).all(|a| (0..a).all(|b| self.get(a, b) == self.get(b, a)))
    }

    /// The values in row-major order.
    #[must_use]
    pub fn as_slice(&self) -> &[f64] {
        &self.values
    }
}

/// The distance (metres) and duration (seconds) matrices of one set of locations.
#[derive(Debug, Clone, PartialEq)]
pub struct TravelMatrices {
    distance: Matrix,
    duration: Matrix,
}

impl TravelMatrices {
    /// Both matrices; refused if they do not cover the same number of locations.
    pub fn new(distance: Matrix, duration: Matrix) -> Result<Self, RouteError> {
        if distance.len() != duration.len() {
            return Err(RouteError::SizeMismatch { distance: distance.len(), duration: duration.len() });
        }
        Ok(Self { distance, duration })
    }

    /// Number of locations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.distance.len()
    }

    /// Always false: valid matrices have at least one location.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.distance.is_empty()
    }

    /// Distances in metres.
    #[must_use]
    pub fn distance(&self) -> &Matrix {
        &self.distance
    }

    /// Durations in seconds.
    #[must_use]
    pub fn duration(&self) -> &Matrix {
        &self.duration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_matrix_of_non_negative_numbers_is_accepted_and_may_be_asymmetric() {
        let m = Matrix::from_rows(vec![vec![0.0, 5.0], vec![7.0, 0.0]]).expect("valid");
        assert_eq!(m.len(), 2);
        assert_eq!(m.get(0, 1), 5.0);
        assert_eq!(m.get(1, 0), 7.0);
        assert!(!m.is_symmetric());
    }

    #[test]
    fn a_nan_entry_is_refused_naming_the_pair() {
        let err = Matrix::from_rows(vec![vec![0.0, f64::NAN], vec![1.0, 0.0]]).unwrap_err();
        assert!(matches!(err, RouteError::NotFinite { from: 0, to: 1, .. }));
        assert_eq!(err.to_string(), "matrix entry 0->1 is NaN, not a finite number");
    }

    #[test]
    fn an_infinite_entry_is_refused() {
        let err = Matrix::from_flat(2, vec![0.0, 1.0, f64::INFINITY, 0.0]).unwrap_err();
        assert!(matches!(err, RouteError::NotFinite { from: 1, to: 0, .. }));
    }

    #[test]
    fn a_negative_entry_is_refused_naming_the_value() {
        let err = Matrix::from_rows(vec![vec![0.0, 1.0], vec![-3.5, 0.0]]).unwrap_err();
        assert_eq!(err, RouteError::Negative { from: 1, to: 0, value: -3.5 });
        assert_eq!(err.to_string(), "matrix entry 1->0 is -3.5, below zero");
    }

    #[test]
    fn a_missing_entry_is_refused() {
        let err =
            Matrix::from_optional_rows(vec![vec![Some(0.0), Some(2.0)], vec![None, Some(0.0)]]).unwrap_err();
        assert_eq!(err, RouteError::MissingEntry { from: 1, to: 0 });
        assert_eq!(err.to_string(), "matrix entry 1->0 is missing");
    }

    #[test]
    fn a_short_row_is_refused_as_missing_entries() {
        let err = Matrix::from_rows(vec![vec![0.0, 1.0], vec![1.0]]).unwrap_err();
        assert_eq!(err, RouteError::RowLength { row: 1, len: 1, expected: 2 });
    }

    #[test]
    fn a_flat_matrix_of_the_wrong_length_is_refused() {
        let err = Matrix::from_flat(3, vec![0.0; 8]).unwrap_err();
        assert_eq!(err, RouteError::FlatLength { size: 3, len: 8, expected: 9 });
    }

    #[test]
    fn an_empty_matrix_is_refused() {
        assert_eq!(Matrix::from_rows(vec![]).unwrap_err(), RouteError::EmptyMatrix);
    }

    #[test]
    fn distance_and_duration_matrices_must_cover_the_same_locations() {
        let two = Matrix::from_flat(2, vec![0.0; 4]).expect("valid");
        let three = Matrix::from_flat(3, vec![0.0; 9]).expect("valid");
        let err = TravelMatrices::new(two, three).unwrap_err();
        assert_eq!(err, RouteError::SizeMismatch { distance: 2, duration: 3 });
    }
}
