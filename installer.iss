; Hearth's Windows installer (Inno Setup 6.4 or later).
;
; Installs the PyInstaller bundle (packaging/hearth.spec) for the current user, without admin
; rights, into %LOCALAPPDATA%\Programs\Hearth. Built by packaging/build_windows.ps1 (Windows) and
; exercised under wine by packaging/check_installer.sh; by hand:
;
;   ISCC /DAppVersion=0.1.0 installer.iss          (version: python packaging/project_version.py)
;
; Defines (ISCC /DName=value):
;   AppVersion  required: the project's version (app/__init__.py); compiling without it fails.
;   AppVersionNumeric  its four-number form for the version resource (default AppVersion).
;   BundleDir   the frozen app folder (default dist\Hearth); OutputDir: where the setup goes (dist).
;   AppExe      the window program in the bundle (default Hearth.exe).
;   ModelDir, ModelName   optional offline bundle: copy the model folder ModelDir into the user's
;               model library as ModelName (air-gapped machines); kept on upgrades and uninstall.
;   Compression default lzma2/max (a quick test build can pass none).
;
; Conversations, settings and models live apart from the program, in %LOCALAPPDATA%\Hearth
; (app/core/paths.py): uninstall removes the program, then asks whether to delete that folder too;
; the answer defaults to keeping it, and a silent uninstall always keeps it.

#ifndef AppVersion
  #error Define AppVersion: ISCC /DAppVersion=<version> installer.iss (packaging/build_windows.ps1 passes app.__version__)
#endif
#ifndef AppVersionNumeric
  #define AppVersionNumeric AppVersion
#endif
#ifndef BundleDir
  #define BundleDir "dist\Hearth"
#endif
#ifndef OutputDir
  #define OutputDir "dist"
#endif
#ifndef AppExe
  #define AppExe "Hearth.exe"
#endif
#ifndef Compression
  #define Compression "lzma2/max"
#endif
#ifdef ModelDir
  #ifndef ModelName
    #error Define ModelName (the folder name in the model library) with ModelDir
  #endif
#endif
#define AppName "Hearth"

[Setup]
; Never change AppId: it ties upgrades and the uninstaller to earlier installs (the uninstall
; registry key is named after it). "{{" is Inno's escape for a literal "{".
AppId={{B736C035-0B2F-4C37-BE2E-CC4D3104445E}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Hearth contributors
VersionInfoVersion={#AppVersionNumeric}
; Per user, no UAC prompt; {localappdata}\Programs is Windows' per-user program folder.
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\{#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
; The bundle is 64-bit Python and Qt.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
WizardStyle=modern
ShowLanguageDialog=auto
SetupIconFile=resources\icons\hearth.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
; Close a running Hearth (Restart Manager) before replacing its files.
CloseApplications=yes
OutputDir={#OutputDir}
OutputBaseFilename={#AppName}-{#AppVersion}-setup
Compression={#Compression}
SolidCompression=yes

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "ja"; MessagesFile: "compiler:Languages\Japanese.isl"

[CustomMessages]
en.DeleteUserData=Also delete your conversations, settings and downloaded models?%n%n%1%n%nChoose No to keep them: installing Hearth again finds them. Models you linked from elsewhere and a data folder you chose in Settings are not touched.
ja.DeleteUserData=会話、設定、ダウンロードしたモデルも削除しますか?%n%n%1%n%n「いいえ」を選ぶと残ります。Hearth を再びインストールするとそのまま使えます。ほかの場所からリンクしたモデルや、設定で選んだデータフォルダーには触れません。

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: modules left over from an older version must not load.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
#ifdef ModelDir
Source: "{#ModelDir}\*"; DestDir: "{localappdata}\{#AppName}\models\{#ModelName}"; Flags: ignoreversion recursesubdirs createallsubdirs onlyifdoesntexist uninsneveruninstall
#endif

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
function UserDataDir(): String;
begin
  { platformdirs' user_data_dir("Hearth", appauthor=False, roaming=False) }
  Result := ExpandConstant('{localappdata}\{#AppName}');
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  { After the program is gone: ask, defaulting to No; silent uninstalls (updates, scripts) keep
    the data without asking. DelTree does not follow links, so linked models stay intact. }
  if (CurUninstallStep = usPostUninstall) and DirExists(UserDataDir()) and not UninstallSilent() then
    if SuppressibleMsgBox(FmtMessage(CustomMessage('DeleteUserData'), [UserDataDir()]),
                          mbConfirmation, MB_YESNO or MB_DEFBUTTON2, IDNO) = IDYES then
      DelTree(UserDataDir(), True, True, True);
end;
