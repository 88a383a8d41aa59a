//! What reading one workbook may cost: each limit far above a department's real records (a
//! national month is a few thousand rows) and far below what would hurt the machine.

/// Bytes one part may inflate to (a sheet of 20,000 filled rows is about 10 MiB).
pub(super) const MAX_PART_BYTES: u64 = 48 << 20;
/// Bytes all the parts read may inflate to together.
pub(super) const MAX_TOTAL_BYTES: u64 = 64 << 20;
/// Attributes one XML element may carry (a cell has at most six, a row a dozen, the root a
/// few namespace declarations).
pub(super) const MAX_ATTRIBUTES: usize = 64;
/// Columns read: a records sheet has about a dozen; anything far right is not part of it.
pub(super) const MAX_COLUMNS: u32 = 64;
/// Bytes of text one cell may hand over (a reason is at most 2,000 characters).
pub(super) const MAX_CELL_BYTES: usize = 8 << 10;
/// Bytes of text the read cells may hold together.
pub(super) const MAX_SHEET_TEXT: usize = 32 << 20;
/// Cells with a value the sheet may have (20,000 rows of twenty columns): counted in the sheet's
/// XML before the reader walks them.
pub(super) const MAX_CELLS: usize = 400_000;
