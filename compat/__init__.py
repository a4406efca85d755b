"""Middleware adapters over the one ``diffim`` task logic.

``compat.gen2`` re-creates the gen2 world (repositories, mappers, reruns,
``ButlerDataRef``, ``CmdLineTask``); ``compat.gen3`` wraps the tasks as
``PipelineTask``s on the real Rubin middleware. The two do not import each other.
"""
