//! Units as people write and read them, one function per job: durations (`30s`, `2d`, `1w`), dates
//! and times, byte sizes; used by the configuration, the command line, the pages and the notices
//! alike. Pure: no clock, no I/O.

pub mod duration;
pub mod size;
pub mod time;
