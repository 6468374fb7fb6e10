"""Question 3: biomarkers of progression after stopping."""
