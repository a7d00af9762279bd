"""Jobs between a local document and an eScriptorium server: push, pull, models, tasks.

``push.PushJob`` sends a document (pages, layout, named versions), ``pull.PullJob`` brings one
back, ``tasks.RemoteTaskJob`` runs the server's segmentation or recognition and follows it,
``models.ModelPushJob`` uploads a kraken model. Push and pull keep which local object is which
remote one in ``store.remote_links`` so a rerun sends or fetches only what is new or changed.
"""
