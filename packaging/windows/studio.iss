; Inno Setup script for Studio's Windows installer. Build dist\Studio first (python packaging\build.py on Windows),
; then: iscc packaging\windows\studio.iss   ->   dist\Studio-setup.exe
; It installs for the current user (no administrator needed), adds Start menu and optional desktop shortcuts,
; makes .studio model files open in Studio (on the Predict page), and puts studio-cli.exe on the user's PATH when
; asked, for the command line (`studio-cli train data.csv --target y --out model.studio`).

#define AppVersion "0.1.0"

[Setup]
AppId={{6C1E4E38-4B7B-4C55-9C1B-6E2F53A1D0B1}
AppName=Studio
AppVersion={#AppVersion}
AppPublisher=Studio
DefaultDirName={autopf}\Studio
DefaultGroupName=Studio
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=Studio-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\studio.ico
UninstallDisplayIcon={app}\Studio.exe
Compression=lzma2/max
SolidCompression=yes
ChangesAssociations=yes
ChangesEnvironment=yes
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked
Name: "addtopath"; Description: "Let the command line find studio-cli"; Flags: unchecked

[Files]
Source: "..\..\dist\Studio\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Studio"; Filename: "{app}\Studio.exe"
Name: "{group}\Uninstall Studio"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Studio"; Filename: "{app}\Studio.exe"; Tasks: desktopicon

[Registry]
; .studio files: "Studio model", Studio's icon, opened with Studio.exe "file".
Root: HKA; Subkey: "Software\Classes\.studio"; ValueType: string; ValueName: ""; ValueData: "Studio.Model"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Studio.Model"; ValueType: string; ValueName: ""; ValueData: "Studio model"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Studio.Model\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\Studio.exe,0"
Root: HKA; Subkey: "Software\Classes\Studio.Model\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\Studio.exe"" ""%1"""
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\Studio.exe"; Description: "Open Studio with the sample dataset"; Parameters: "--sample"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Folder: string): Boolean;
var
  Current: string;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Current) then
    Current := '';
  Result := Pos(';' + Uppercase(Folder) + ';', ';' + Uppercase(Current) + ';') = 0;
end;
