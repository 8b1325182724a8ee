"""vidwidget: explore video classification in Jupyter."""
