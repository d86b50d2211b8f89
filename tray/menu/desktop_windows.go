package menu

import (
	"os"
	"os/exec"
	"syscall"
)

// OpenFile shows path in Notepad.
func OpenFile(path string) error {
	return start("notepad.exe", path)
}

// notifyScript shows a balloon (a toast on Windows 10 and later) from a
// NotifyIcon; the texts come from the environment, never from the
// script source.
const notifyScript = `Add-Type -AssemblyName System.Windows.Forms
$n = New-Object System.Windows.Forms.NotifyIcon
$n.Icon = [System.Drawing.SystemIcons]::Information
$n.BalloonTipTitle = $env:WAPTTRAY_TITLE
$n.BalloonTipText = $env:WAPTTRAY_TEXT
$n.Visible = $true
$n.ShowBalloonTip(10000)
Start-Sleep -Seconds 10
$n.Dispose()`

// SendNotification shows a notification through PowerShell.
func SendNotification(title, text string) error {
	cmd := exec.Command("powershell.exe", "-NoProfile", "-NonInteractive", "-WindowStyle", "Hidden", "-Command", notifyScript)
	cmd.Env = append(os.Environ(), "WAPTTRAY_TITLE="+title, "WAPTTRAY_TEXT="+text)
	hideWindow(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// createNoWindow is CREATE_NO_WINDOW: no console flashes up.
const createNoWindow = 0x08000000

func hideWindow(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
}
