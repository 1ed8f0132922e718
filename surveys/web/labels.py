"""Dashboard wording, Indonesian first. Kept as data (not gettext catalogues) this session so
the pages need no compiled message files; the language follows `?lang=` (kept in the language
cookie), else Accept-Language through LocaleMiddleware.

The words follow issue 17 item 3: one concept, one name ("selang kepercayaan 95 %", never
"IK"/"SK"), "tidak ditampilkan (responden < 30)" for a suppressed cell, "Nilai indeks" for the
estimate, "per sila" for the dimensions.
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Dasbor Indeks Internalisasi Nilai Pancasila",
        "login": "Masuk",
        "logout": "Keluar",
        "username": "Nama pengguna",
        "password": "Kata sandi",
        "login_error": "Nama pengguna atau kata sandi salah.",
        "region": "Wilayah",
        "instrument": "Instrumen",
        "show": "Tampilkan",
        "language": "Bahasa",
        "other_language": "English",
        "latest": "Angka terakhir",
        "year": "Tahun",
        "estimate": "Nilai indeks",
        "ci": "Selang kepercayaan 95 %",
        "ci_short": "selang kepercayaan 95 %",
        "category": "Kategori",
        "change": "Perubahan dari tahun sebelumnya",
        "significant": "signifikan",
        "not_significant": "tidak signifikan",
        "suppressed": "tidak ditampilkan (responden < 30)",
        "not_surveyed": "tidak disurvei",
        "model_based": "estimasi model / model-based",
        "model_note": (
            "Estimasi model (Fay-Herriot) mengisi tahun yang tidak ditampilkan atau tidak "
            "disurvei, dengan bantuan indikator proksi. Angka ini bukan hasil survei: tidak "
            "dipakai untuk tren, perubahan, maupun capaian."
        ),
        "verdict": "Kesimpulan",
        "trend": "Perubahan",
        "per_year": "per tahun",
        "chart_alt": "Grafik tahunan dengan selang kepercayaan 95 %",
        "trends": "Tren tahunan per sila",
        "outcomes": "Indikator proksi (outcome)",
        "outcomes_note": "Data administratif yang mendekati indeks di antara tahun survei.",
        "outputs": "Indikator output",
        "outputs_note": "Kegiatan yang dilaksanakan kantor; tidak digabungkan ke dalam indeks.",
        "indicator": "Indikator",
        "unit": "Satuan",
        "dimension": "Sila",
        "validated": "Valid sebagai proksi",
        "yes": "ya",
        "no": "tidak",
        "not_tested": "belum diuji",
        "target": "target",
        "achievements": "Capaian terhadap target",
        "target_col": "Target",
        "realisation": "Realisasi",
        "achievement": "Capaian (%)",
        "met": "Tercapai",
        "met_ci": "Pasti pada keyakinan 95 %",
        "met_word": "tercapai",
        "not_met_word": "belum tercapai",
        "certain": "pasti pada keyakinan 95 %",
        "not_certain": "belum pasti pada keyakinan 95 %",
        "met_note": (
            "Laporkan kolom \u201cTercapai\u201d (realisasi dibandingkan target). Kolom "
            "\u201cPasti pada keyakinan 95 %\u201d menambahkan apakah seluruh selang kepercayaan "
            "95 % berada di sisi target: \u201ctidak\u201d berarti capaian itu masih dalam batas "
            "ketidakpastian survei."
        ),
        "negative": "semakin kecil semakin baik",
        "no_target": "belum ada target untuk tahun ini",
        "none": "Belum ada data.",
        "forbidden": "Akun ini tidak berhak melihat dasbor.",
        "all_regions": "Seluruh wilayah survei",
        "n": "n",
        "code_bps": "BPS",
        "code_kemendagri": "Kemendagri",
        "overall": "Indeks keseluruhan",
        "ranking": "Peringkat kabupaten/kota",
        "ranking_note": (
            "Nilai indeks tahun {year} dengan selang kepercayaan 95 %. Selang yang saling "
            "tumpang tindih berarti perbedaan belum pasti. Peta tidak ditampilkan: belum ada "
            "paket data batas wilayah yang terpelihara."
        ),
        "ranking_alt": "Diagram titik peringkat kabupaten/kota",
        "downloads": "Unduh data",
        "downloads_note": "Tabel wilayah ini; berkas Excel untuk dibaca, CSV untuk diolah.",
        "table_estimates": "Nilai indeks",
        "table_achievements": "Capaian target",
        "table_changes": "Perubahan",
        "table_sae": "Estimasi model",
        "demo_banner": (
            "Data demo sintetis: angka di halaman ini dibuat untuk uji coba, bukan hasil survei "
            "sungguhan."
        ),
        "notices": "Pemberitahuan perhitungan indeks",
        "notice_skipped": "Gelombang {wave} dilewati pada perhitungan terakhir; hasil "
                          "sebelumnya tetap ditampilkan.",
        "learn": "Belajar dari daerah lain",
        "learn_note": (
            "Program yang dijalankan kabupaten/kota lain untuk sila ini, dan apa yang terjadi "
            "pada sila itu di sana dibandingkan daerah lain (selisih dari selisih, DiD)."
        ),
        "sila_of_concern": "Sila yang diperhatikan",
        "programme": "Program/kegiatan",
        "type": "Jenis",
        "years": "Tahun",
        "budget": "Anggaran",
        "participants": "Peserta",
        "effect": "Efek (DiD)",
        "mde": "Efek minimum terdeteksi",
        "status": "Status",
        "no_programmes": "Belum ada program untuk sila ini.",
        "forest_alt": "Diagram hutan efek program dengan selang kepercayaan 95 %",
        "pooled": "Efek gabungan per jenis program",
        "pooled_k": "program",
        "caveats": (
            "Perhatian: program tidak ditempatkan secara acak (daerah memilih sendiri); "
            "DiD adalah bukti, bukan kepastian sebab-akibat; efek yang lebih kecil dari efek "
            "minimum terdeteksi tidak dapat terlihat."
        ),
        "own_programmes": "Periode berarsir pada grafik: program kantor ini.",
        "status_ok": "dievaluasi",
        "status_no_pre": "tidak ada gelombang sebelum",
        "status_no_post": "belum ada gelombang sesudah",
        "status_no_comparison": "tidak ada pembanding",
        "glossary": "Keterangan istilah",
        "g_ci": (
            "Selang kepercayaan 95 %: rentang yang memuat nilai sebenarnya dengan keyakinan "
            "95 %; makin sempit makin tepat."
        ),
        "g_sig": (
            "Signifikan: perubahan yang terlalu besar untuk dianggap kebetulan sampel (p < 0,05)."
        ),
        "g_p": "p: peluang melihat perubahan sebesar ini bila sebenarnya tidak ada perubahan.",
        "g_n": "n: jumlah responden dengan skor sah.",
        "g_rho": (
            "rho: korelasi peringkat Spearman antara indikator proksi dan indeks (-1 sampai 1)."
        ),
        "g_bands": (
            "Kategori: 0-<20 sangat rendah, 20-<40 rendah, 40-<60 sedang, 60-<80 tinggi, "
            "80-100 sangat tinggi."
        ),
        "g_polarity": (
            "Polaritas: indikator bertanda \u201csemakin kecil semakin baik\u201d (misalnya "
            "jumlah konflik) tercapai bila realisasi di bawah target."
        ),
        "g_model": (
            "Estimasi model: angka Fay-Herriot dari indikator proksi, untuk tahun/wilayah "
            "tanpa hasil survei yang dapat ditampilkan."
        ),
        "set_password": "Buat kata sandi",
        "new_password": "Kata sandi baru",
        "confirm_password": "Ulangi kata sandi baru",
        "password_link_invalid": (
            "Tautan ini tidak berlaku lagi (sudah dipakai atau kedaluwarsa). Mintalah tautan baru "
            "kepada admin."
        ),
        "password_set_done": "Kata sandi tersimpan. Silakan masuk.",
    },
    "en": {
        "title": "Pancasila Value Internalisation Index Dashboard",
        "login": "Log in",
        "logout": "Log out",
        "username": "Username",
        "password": "Password",
        "login_error": "Wrong username or password.",
        "region": "Region",
        "instrument": "Instrument",
        "show": "Show",
        "language": "Language",
        "other_language": "Bahasa Indonesia",
        "latest": "Latest figure",
        "year": "Year",
        "estimate": "Index value",
        "ci": "95 % confidence interval",
        "ci_short": "95 % confidence interval",
        "category": "Category",
        "change": "Change from the previous year",
        "significant": "significant",
        "not_significant": "not significant",
        "suppressed": "not shown (fewer than 30 respondents)",
        "not_surveyed": "not surveyed",
        "model_based": "model-based estimate",
        "model_note": (
            "Model-based (Fay-Herriot) estimates fill the years not shown or not surveyed, "
            "borrowing strength from proxy indicators. They are not survey results: never used "
            "for trends, changes or achievement."
        ),
        "verdict": "Verdict",
        "trend": "Change",
        "per_year": "per year",
        "chart_alt": "Yearly chart with 95 % confidence interval",
        "trends": "Yearly trends by principle (sila)",
        "outcomes": "Proxy indicators (outcome)",
        "outcomes_note": "Administrative data standing in for the index between survey years.",
        "outputs": "Output indicators",
        "outputs_note": "Activities the office delivers; never aggregated into the index.",
        "indicator": "Indicator",
        "unit": "Unit",
        "dimension": "Principle",
        "validated": "Valid as a proxy",
        "yes": "yes",
        "no": "no",
        "not_tested": "not tested",
        "target": "target",
        "achievements": "Achievement against targets",
        "target_col": "Target",
        "realisation": "Realisation",
        "achievement": "Achievement (%)",
        "met": "Met",
        "met_ci": "Certain at 95 %",
        "met_word": "met",
        "not_met_word": "not met",
        "certain": "certain at 95 % confidence",
        "not_certain": "not yet certain at 95 % confidence",
        "met_note": (
            "Report the \u201cMet\u201d column (realisation against target). \u201cCertain at "
            "95 %\u201d adds whether the whole 95 % confidence interval lies on the target's "
            "side: \u201cno\u201d means the result is still within the survey's uncertainty."
        ),
        "negative": "lower is better",
        "no_target": "no target for this year yet",
        "none": "No data yet.",
        "forbidden": "This account may not view the dashboard.",
        "all_regions": "Whole survey area",
        "n": "n",
        "code_bps": "BPS",
        "code_kemendagri": "Kemendagri",
        "overall": "Overall index",
        "ranking": "Ranking of regencies and cities",
        "ranking_note": (
            "Index value in {year} with its 95 % confidence interval. Overlapping intervals "
            "mean the difference is not certain. No map: no maintained package of regency "
            "boundaries is available."
        ),
        "ranking_alt": "Dot plot ranking the regencies and cities",
        "downloads": "Download data",
        "downloads_note": "This region's tables; Excel to read, CSV to process.",
        "table_estimates": "Index values",
        "table_achievements": "Achievement",
        "table_changes": "Changes",
        "table_sae": "Model-based estimates",
        "demo_banner": (
            "Synthetic demo data: the figures on this page were generated for testing, they "
            "are not real survey results."
        ),
        "notices": "Index computation notices",
        "notice_skipped": "Wave {wave} was skipped by the latest run; its previous results are "
                          "still shown.",
        "learn": "Learn from other regions",
        "learn_note": (
            "Programmes other regencies and cities ran for this principle, and what happened to "
            "it there compared with elsewhere (difference-in-differences, DiD)."
        ),
        "sila_of_concern": "Principle of concern",
        "programme": "Programme",
        "type": "Type",
        "years": "Years",
        "budget": "Budget",
        "participants": "Participants",
        "effect": "Effect (DiD)",
        "mde": "Minimum detectable effect",
        "status": "Status",
        "no_programmes": "No programme for this principle yet.",
        "forest_alt": "Forest plot of programme effects with 95 % confidence intervals",
        "pooled": "Pooled effect by programme type",
        "pooled_k": "programmes",
        "caveats": (
            "Caution: programmes were not placed at random (regions chose them); a DiD is "
            "evidence, not proof of cause; an effect smaller than the minimum detectable effect "
            "cannot be seen."
        ),
        "own_programmes": "Shaded periods on the charts: this office's programmes.",
        "status_ok": "evaluated",
        "status_no_pre": "no wave before",
        "status_no_post": "no wave after yet",
        "status_no_comparison": "no comparison regions",
        "glossary": "Glossary",
        "g_ci": (
            "95 % confidence interval: the range that holds the true value with 95 % "
            "confidence; narrower is more precise."
        ),
        "g_sig": "Significant: a change too large to be sampling chance (p < 0.05).",
        "g_p": "p: the chance of a change this large if nothing had really changed.",
        "g_n": "n: respondents with a valid score.",
        "g_rho": (
            "rho: Spearman rank correlation between the proxy indicator and the index (-1 to 1)."
        ),
        "g_bands": (
            "Categories: 0-<20 very low, 20-<40 low, 40-<60 moderate, 60-<80 high, "
            "80-100 very high."
        ),
        "g_polarity": (
            "Polarity: an indicator marked \u201clower is better\u201d (e.g. conflict incidents) "
            "is met when the realisation is below the target."
        ),
        "g_model": (
            "Model-based estimate: a Fay-Herriot figure from proxy indicators, for years or "
            "regions without a survey result that can be shown."
        ),
        "set_password": "Set a password",
        "new_password": "New password",
        "confirm_password": "New password again",
        "password_link_invalid": (
            "This link is no longer valid (already used or expired). Ask the admin for a new one."
        ),
        "password_set_done": "Password saved. Please log in.",
    },
}

#: category bands (analysis.scoring.CATEGORY_BANDS) in English
CATEGORY_EN = {"sangat rendah": "very low", "rendah": "low", "sedang": "moderate",
               "tinggi": "high", "sangat tinggi": "very high"}


def labels_for(language_code: str | None) -> dict[str, str]:
    return LABELS["en"] if (language_code or "").lower().startswith("en") else LABELS["id"]


def category_label(category: str | None, lang: str) -> str:
    if not category:
        return ""
    return CATEGORY_EN.get(category, category) if lang == "en" else category
