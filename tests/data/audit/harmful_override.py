# An override file that would do harm if an audit ran it. The audit must list
# every statement below as not evaluated and create none of the files.
import os
import audit_canary
from audit_canary import CANARY

config.doMatchSources = True

os.system("touch pwned")
open("pwned2", "w").write("x")
__import__("os").system("touch pwned3")
config.doAddMetrics = __import__("os").system("touch pwned4") == 0
exec("open('pwned5', 'w')")
config.coaddName = os.getcwd()
for name in ["pwned6"]:
    open(name, "w")
config.detectAndMeasure.badSourceFlags = [open(name, "w") for name in ["pwned7"]]
config.getTemplate.apply(os.system("touch pwned8"))
with open("pwned9", "w"):
    pass
