//! Units as people write and read them, one function per job: durations (`30s`, `2d`, `1w`), used
//! by the configuration and the command line alike. Pure: no clock, no I/O.

pub mod duration;
