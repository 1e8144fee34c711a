"""`rayscore plan`: what a job will cost before it runs. Token counts come from the judge's
own tokenizer on a sample of rows, prepared by the scorers' own kinds; `--probe N` scores N
rows on the real judge and scales its measured rate to the corpus."""
