; Inno Setup script for the Windows installer.
; Not written yet: the installer issue (#7) builds it together with the frozen app in packaging/.
