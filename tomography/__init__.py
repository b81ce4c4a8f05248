"""tomography: measurement models, density-matrix estimators and their
uncertainties for NMR state tomography.

A general estimation library: it works on line amplitudes, noise levels and
readout unitaries and never imports ``nmrqb``.  Its content is built under
the tomography issue; this package is shipped now so that the distribution
layout is fixed from the start.
"""
