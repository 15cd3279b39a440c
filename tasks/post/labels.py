"""The words a post is written with, per language, and what kind of page a link is."""

from __future__ import annotations

from urllib.parse import urlsplit

# Hosts whose pages are source code; huggingface.co holds models and data sets.
CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org")

LABELS = {
    "zh": {
        "updated": "更新",
        "summary": "Summary",
        "takeaways": "Key Takeaways",
        "analysis": "论文解读",
        "title": "标题及中文翻译",
        "title_only": "标题",
        "authors": "作者",
        "affiliation": "第一作者单位",
        "keywords": "关键词",
        "links": "链接",
        "abstract": "摘要",
        "background": "研究背景",
        "prior": "过去的方法及问题",
        "method": "研究方法",
        "performance": "任务与性能",
        "methods": "方法",
        "conclusion": "结论",
        "significance": "工作意义",
        "innovation": "创新点",
        "perf": "性能",
        "workload": "工作量",
        "not_stated": "未提及",
        "figures": "点此查看论文截图",
        "no_figures": "该论文的许可不允许转载其图片，请在 PDF 中查看。",
        "licence_unknown": "未能查到该论文的许可，暂不转载其图片（下次运行会重新查询），"
        "请在 PDF 中查看。",
        "failed": "未能完成",
        "code": "代码",
        "project": "项目主页",
        "huggingface": "Hugging Face",
        "waiting": "等待下次运行",
        "updated_part": "更新的论文",
        "failures": "未完成的论文",
    },
    "en": {
        "updated": "Update",
        "summary": "Summary",
        "takeaways": "Key Takeaways",
        "analysis": "Analysis",
        "title": "Title",
        "title_only": "Title",
        "authors": "Authors",
        "affiliation": "First author's affiliation",
        "keywords": "Keywords",
        "links": "Links",
        "abstract": "Summary",
        "background": "Background",
        "prior": "Prior work and its problems",
        "method": "Method",
        "performance": "Tasks and performance",
        "methods": "Methods",
        "conclusion": "Conclusion",
        "significance": "Significance",
        "innovation": "Innovation",
        "perf": "Performance",
        "workload": "Workload",
        "not_stated": "not stated",
        "figures": "Figures",
        "no_figures": "The paper's licence does not allow republishing its figures; see the PDF.",
        "licence_unknown": "The paper's licence could not be looked up, so its figures are "
        "withheld until the next run checks it; see the PDF.",
        "failed": "Not completed",
        "code": "Code",
        "project": "Project page",
        "huggingface": "Hugging Face",
        "waiting": "Waiting for the next run",
        "updated_part": "Updated papers",
        "failures": "Papers not completed",
    },
}


def link_kind(link: str) -> str:
    """Return the label key of a paper's link: code, Hugging Face or project page."""
    host = (urlsplit(link).hostname or "").removeprefix("www.").lower()
    if host in CODE_HOSTS:
        return "code"
    return "huggingface" if host == "huggingface.co" else "project"
