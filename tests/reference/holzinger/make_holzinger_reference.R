# Measurement invariance on lavaan's HolzingerSwineford1939 grouped by school (lavaan tutorial).
# Writes the data (holzinger1939.csv: the 9 indicators and school) and lavaan's fit of the
# configural, metric and scalar models (expected_invariance.csv). Run: Rscript make_holzinger_reference.R
library(lavaan)
d <- HolzingerSwineford1939[, c("school", paste0("x", 1:9))]
write.csv(d, "holzinger1939.csv", row.names = FALSE)
model <- "visual =~ x1 + x2 + x3
          textual =~ x4 + x5 + x6
          speed =~ x7 + x8 + x9"
fits <- list(
  configural = cfa(model, data = d, group = "school", std.lv = TRUE),
  metric = cfa(model, data = d, group = "school", std.lv = TRUE, group.equal = "loadings"),
  scalar = cfa(model, data = d, group = "school", std.lv = TRUE,
               group.equal = c("loadings", "intercepts")))
rows <- lapply(names(fits), function(level) {
  m <- fitMeasures(fits[[level]], c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))
  data.frame(level = level, chisq = m[["chisq"]], df = m[["df"]], cfi = m[["cfi"]],
             tli = m[["tli"]], rmsea = m[["rmsea"]], srmr = m[["srmr"]])
})
out <- do.call(rbind, rows)
out$lavaan_version <- as.character(packageVersion("lavaan"))
write.csv(out, "expected_invariance.csv", row.names = FALSE)
