# Paired (within-person) change 2021 -> 2022 on the reference panel, with R survey.
# Input: panel_2021_2022.csv (make_panel_fixture.py). Output: expected_panel_change.csv.
# Design of the later wave: svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, nest = TRUE);
# the panel members are a domain of it (subset() keeps the whole design for the variance).
# Run from this folder: Rscript make_panel_reference.R
library(survey)
options(survey.lonely.psu = "certainty")
x <- read.csv("panel_2021_2022.csv", colClasses = c(respondent = "character",
              region = "character", stratum = "character", psu = "character"))
x$member <- x$member == "true"
dims <- c("INDEX", "S1", "S2", "S3", "S4", "S5")
for (d in dims) x[[paste0("d_", d)]] <- x[[paste0(d, "_t1")]] - x[[paste0(d, "_t0")]]
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, nest = TRUE, data = x)
out <- list()
for (d in dims) {
  f <- as.formula(paste0("~d_", d))
  members <- subset(des, member & !is.na(x[[paste0("d_", d)]]))
  by_region <- svyby(f, ~region, members, svymean, na.rm = TRUE)
  all <- svymean(f, members, na.rm = TRUE)
  out[[length(out) + 1]] <- data.frame(region = c(as.character(by_region$region), "ALL"),
    dimension = d, change = c(by_region[[2]], coef(all)[[1]]),
    se = c(by_region[[3]], SE(all)[[1]]), df = degf(des))
}
res <- do.call(rbind, out)
res$survey_version <- as.character(packageVersion("survey"))
res$r_version <- paste(R.version$major, R.version$minor, sep = ".")
write.csv(res, "expected_panel_change.csv", row.names = FALSE)
