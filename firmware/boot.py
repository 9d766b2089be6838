# devicepair boot.py: runs before main.py on every reset. Keep it tiny: nothing here may
# fail. Wi-Fi, the display and the app are started by main.py, where errors are handled.
import gc

gc.collect()
