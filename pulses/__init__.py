"""pulses: NMR spin systems, pulse-sequence elements and builders, simulation
with relaxation, FIDs, spectra and NMR data I/O.

A general NMR library: it takes Hamiltonians, states and spin systems as
plain objects and never imports ``nmrqb``.  Its content is built under the
pulses issue; this package is shipped now so that the distribution layout is
fixed from the start.
"""
