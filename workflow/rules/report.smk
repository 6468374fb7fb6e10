rule report:
    input:
        summary="results/validation/summary.json",
        issues="results/validation/issues.tsv",
        attrition="results/cohort/attrition.tsv",
        cutoff="results/cohort/cutoff.json",
        template="workflow/report/templates/report.html.j2",
    output:
        html=report(
            "results/report/report.html",
            caption="../report/report.rst",
            category="0. Report",
        ),
    params:
        title=config["report"]["title"],
        show_identifiers=config["report"]["show_identifiers"],
        small_cell_k=config["report"]["small_cell_k"],
    log:
        "logs/report.log",
    conda:
        "../envs/icistop.yaml"
    script:
        "../scripts/render_report.py"
