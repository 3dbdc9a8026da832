//! Golden tests of the whole decomposition on fixture messages built here.
