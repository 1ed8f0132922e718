# Time R survey on the estimation work of bench_analysis.py (same data):
#   .venv/bin/python bench/bench_analysis.py --export-r /tmp/nilai_r
#   Rscript bench/bench_r_survey.R /tmp/nilai_r
# Per wave: svydesign(ids=~psu, strata=~stratum, weights=~w, nest=TRUE), then for each of
# S1..S5 and INDEX svyby(~y, ~region, svymean, na.rm=TRUE) and svymean(~y, na.rm=TRUE) (domains
# per score, as analysis.estimation does). Reading the CSV is not timed.
suppressMessages(library(survey))
options(survey.lonely.psu = "certainty")
dir <- commandArgs(trailingOnly = TRUE)[1]
files <- sort(list.files(dir, pattern = "^wave_.*\\.csv$", full.names = TRUE))
total <- 0
for (f in files) {
  d <- read.csv(f, colClasses = c(region = "character", stratum = "character"))
  t <- system.time({
    des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
    for (v in c("S1", "S2", "S3", "S4", "S5", "INDEX")) {
      fml <- as.formula(paste0("~", v))
      by <- svyby(fml, ~region, des, svymean, na.rm = TRUE)
      all <- svymean(fml, des, na.rm = TRUE)
    }
  })[["elapsed"]]
  total <- total + t
  cat(sprintf("%s: %d rows, %.2f s\n", basename(f), nrow(d), t))
}
cat(sprintf("R %s, survey %s: svydesign + svyby/svymean, %d waves: %.2f s\n",
            getRversion(), packageVersion("survey"), length(files), total))
